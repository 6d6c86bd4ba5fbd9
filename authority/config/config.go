// Package config reads, defaults, validates and writes step-ca's ca.json and
// the step CLI's defaults.json (wire-spec §1.3, §1.4, §7).
//
// # Life cycle
//
// Load (or Parse) decodes the file strictly enough to report every type error
// with its JSON path, collects keys it does not know into Config.UnknownKeys
// (not fatal: step-ca ignores them, so step-ca logs them at start and
// --validate-config fails on them), applies Defaults and returns Validate's
// error. Decode does only the first step. Check, for `step-ca
// --validate-config`, reports all of these at once, plus unknown provisioner
// types and the files the configuration names that are missing or broken.
//
// # Defaults and saving
//
// Defaults fills exactly the fields step-ca's own config.Init fills at load
// time (dnsNames, tls, authority.template, authority.backdate, commonName,
// crl.cacheDuration), so that "Load, change, Save" writes what
// `step ca provisioner add` writes (wire-spec §1.3 "Rewrite"). Defaults that
// step-ca never writes back are not stored in the struct; they are computed by
// accessors instead: LoggerFormat, TraceHeader and CRL.RenewInterval.
//
// To write a file back exactly as it was read (no defaults), use
// Config.AsLoaded, which re-decodes the bytes Load read.
//
// Save drops keys the decoder did not know, as step does when it re-serializes
// ca.json. Provisioner entries are kept verbatim as raw JSON: each provisioner
// type package decodes and validates its own entry.
//
// # Concurrency
//
// A *Config is a plain value: it is not safe for concurrent mutation; treat a
// loaded config as read-only once it is shared.
package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mayfly-pki/mayfly/provisioner"
)

// Config is ca.json. Field order is the order step-ca writes (wire-spec §1.3),
// so Save reproduces step's layout.
type Config struct {
	Root             MultiString `json:"root"`
	FederatedRoots   []string    `json:"federatedRoots"`
	IntermediateCert string      `json:"crt"`
	IntermediateKey  string      `json:"key"`
	Address          string      `json:"address"`
	InsecureAddress  string      `json:"insecureAddress"`
	DNSNames         []string    `json:"dnsNames"`
	KMS              *KMS        `json:"kms,omitempty"`
	SSH              *SSH        `json:"ssh,omitempty"`
	Logger           *Logger     `json:"logger,omitempty"`
	DB               *DB         `json:"db,omitempty"`
	Monitoring       *Monitoring `json:"monitoring,omitempty"`
	Authority        *Authority  `json:"authority,omitempty"`
	TLS              *TLSOptions `json:"tls,omitempty"`
	Password         string      `json:"password,omitempty"`
	Templates        *Templates  `json:"templates,omitempty"`
	CommonName       string      `json:"commonName,omitempty"`
	CRL              *CRL        `json:"crl,omitempty"`
	OCSP             *OCSP       `json:"ocsp,omitempty"`
	MetricsAddress   string      `json:"metricsAddress,omitempty"`
	// Audit is Mayfly's audit log (audit.go); step-ca ignores the key.
	Audit *Audit `json:"audit,omitempty"`

	// UnknownKeys lists the JSON paths of keys the decoder did not recognise
	// (for example "authority.claimz" or "tls.minversion2"), in document
	// order. Keys inside provisioner entries, authority.config and
	// templates.data are not checked here. Filled by Decode/Parse/Load.
	UnknownKeys []string `json:"-"`

	// source and raw record what Load/Parse read, for AsLoaded and Source.
	source string
	raw    []byte
}

// Authority is the "authority" block (wire-spec §7.2). The CAS option fields
// come first, as step-ca embeds them first.
type Authority struct {
	Type                            string             `json:"type,omitempty"`
	CertificateAuthority            string             `json:"certificateAuthority,omitempty"`
	CertificateAuthorityFingerprint string             `json:"certificateAuthorityFingerprint,omitempty"`
	CertificateIssuer               *CertificateIssuer `json:"certificateIssuer,omitempty"`
	CredentialsFile                 string             `json:"credentialsFile,omitempty"`
	// Config is the generic CAS configuration, kept verbatim.
	Config json.RawMessage `json:"config,omitempty"`

	AuthorityID    string `json:"authorityId,omitempty"`
	DeploymentType string `json:"deploymentType,omitempty"`
	// Provisioners holds each provisioner entry verbatim; see ProvisionerHeader.
	Provisioners []json.RawMessage   `json:"provisioners,omitempty"`
	Template     *ASN1DN             `json:"template,omitempty"`
	Claims       *provisioner.Claims `json:"claims,omitempty"`
	Policy       *Policy             `json:"policy,omitempty"`
	// Lint lints every certificate before it is signed (a Mayfly
	// extension; provisioners take the same "lint" block).
	Lint                 *provisioner.LintOptions `json:"lint,omitempty"`
	DisableIssuedAtCheck bool                     `json:"disableIssuedAtCheck,omitempty"`
	Backdate             *provisioner.Duration    `json:"backdate,omitempty"`
	EnableAdmin          bool                     `json:"enableAdmin,omitempty"`
	DisableGetSSHHosts   bool                     `json:"disableGetSSHHosts,omitempty"`
}

// CertificateIssuer configures how a StepCAS registration authority
// authenticates to the upstream CA.
type CertificateIssuer struct {
	Type        string `json:"type"`
	Provisioner string `json:"provisioner,omitempty"`
	Certificate string `json:"crt,omitempty"`
	Key         string `json:"key,omitempty"`
	Password    string `json:"password,omitempty"`
}

// ASN1DN holds default subject attributes (authority.template).
type ASN1DN struct {
	Country            string `json:"country,omitempty"`
	Organization       string `json:"organization,omitempty"`
	OrganizationalUnit string `json:"organizationalUnit,omitempty"`
	Locality           string `json:"locality,omitempty"`
	Province           string `json:"province,omitempty"`
	StreetAddress      string `json:"streetAddress,omitempty"`
	SerialNumber       string `json:"serialNumber,omitempty"`
	CommonName         string `json:"commonName,omitempty"`
}

// KMS is the "kms" block.
type KMS struct {
	Type             string `json:"type"`
	CredentialsFile  string `json:"credentialsFile,omitempty"`
	URI              string `json:"uri,omitempty"`
	Pin              string `json:"pin,omitempty"`
	ManagementKey    string `json:"managementKey,omitempty"`
	Region           string `json:"region,omitempty"`
	Profile          string `json:"profile,omitempty"`
	StorageDirectory string `json:"storageDirectory,omitempty"`
}

// SSH is the "ssh" block.
type SSH struct {
	HostKey          string         `json:"hostKey"`
	UserKey          string         `json:"userKey"`
	Keys             []SSHPublicKey `json:"keys,omitempty"`
	AddUserPrincipal string         `json:"addUserPrincipal,omitempty"`
	AddUserCommand   string         `json:"addUserCommand,omitempty"`
	Bastion          *Bastion       `json:"bastion,omitempty"`
	// KRLRefresh is Mayfly's: how often the SSH key revocation list is
	// rebuilt from the database (revocations other CAs sharing it
	// recorded); default 1m.
	KRLRefresh *provisioner.Duration `json:"krlRefresh,omitempty"`
}

// SSHPublicKey is an extra (usually federated) SSH CA public key. Key is a
// public JWK kept verbatim.
type SSHPublicKey struct {
	Type      string          `json:"type"`
	Federated bool            `json:"federated"`
	Key       json.RawMessage `json:"key"`
}

// Bastion is ssh.bastion.
type Bastion struct {
	Hostname string `json:"hostname"`
	User     string `json:"user,omitempty"`
	Port     string `json:"port,omitempty"`
	Command  string `json:"cmd,omitempty"`
	Flags    string `json:"flags,omitempty"`
}

// Logger is the "logger" block. An empty Format means "text"; see
// Config.LoggerFormat.
type Logger struct {
	Format      string `json:"format,omitempty"`
	TraceHeader string `json:"traceHeader,omitempty"`
}

// DB is the "db" block (wire-spec §6.1). badgerFileLoadingMode is written
// even when empty, as `step ca init` does (wire-spec §1.3).
type DB struct {
	Type                  string `json:"type"`
	DataSource            string `json:"dataSource"`
	ValueDir              string `json:"valueDir,omitempty"`
	Database              string `json:"database,omitempty"`
	BadgerFileLoadingMode string `json:"badgerFileLoadingMode"`
	// Retention is Mayfly's: certificate records that expired longer ago
	// than this are pruned by a background job. Nil (the default) keeps
	// them forever.
	Retention *provisioner.Duration `json:"retention,omitempty"`
	// ReadOnly is Mayfly's: open a MySQL/PostgreSQL database without DDL
	// or writes, for a hot standby that serves reads (step-ca --read-only
	// sets it too). Issuing, renewing and revoking then fail with 503.
	ReadOnly bool `json:"readOnly,omitempty"`
}

// Monitoring is the "monitoring" block.
type Monitoring struct {
	Type string `json:"type"`
	Name string `json:"name,omitempty"`
	Key  string `json:"key,omitempty"`
}

// Templates is the "templates" block. Data is user data for SSH config
// templates (keys "Step" and "User" are reserved).
type Templates struct {
	SSH  *SSHTemplates  `json:"ssh,omitempty"`
	Data map[string]any `json:"data,omitempty"`
}

// SSHTemplates lists the `step ssh config` templates.
type SSHTemplates struct {
	User []Template `json:"user"`
	Host []Template `json:"host"`
}

// Template is one `step ssh config` template. TemplatePath is relative to
// STEPPATH unless absolute. An empty Comment means "#".
type Template struct {
	Name         string   `json:"name"`
	Type         string   `json:"type"`
	TemplatePath string   `json:"template"`
	Path         string   `json:"path"`
	Comment      string   `json:"comment"`
	RequiredData []string `json:"requires,omitempty"`
}

// CRL is the "crl" block.
type CRL struct {
	Enabled          bool                  `json:"enabled"`
	GenerateOnRevoke bool                  `json:"generateOnRevoke,omitempty"`
	CacheDuration    *provisioner.Duration `json:"cacheDuration,omitempty"`
	RenewPeriod      *provisioner.Duration `json:"renewPeriod,omitempty"`
	IDPURL           string                `json:"idpURL,omitempty"`
}

// OCSP is the "ocsp" block (a Mayfly extension: step-ca has no OCSP
// responder): the responder at /ocsp and /1.0/ocsp.
type OCSP struct {
	Enabled bool `json:"enabled"`
	// CacheDuration is a response's validity, nextUpdate − thisUpdate
	// (default 1h).
	CacheDuration *provisioner.Duration `json:"cacheDuration,omitempty"`
	// ResponderDuration is the delegated responder certificate's validity
	// (default 168h), renewed at two thirds of it.
	ResponderDuration *provisioner.Duration `json:"responderDuration,omitempty"`
	// URL is written in issued certificates' authority information access
	// (default https://<dnsNames[0]>/1.0/ocsp).
	URL string `json:"url,omitempty"`
}

// Policy is authority.policy (wire-spec §7.3).
type Policy struct {
	X509 *X509Policy `json:"x509,omitempty"`
	SSH  *SSHPolicy  `json:"ssh,omitempty"`
}

// X509Policy holds the X.509 allow/deny name rules.
type X509Policy struct {
	Allow              *X509Names `json:"allow,omitempty"`
	Deny               *X509Names `json:"deny,omitempty"`
	AllowWildcardNames bool       `json:"allowWildcardNames,omitempty"`
}

// X509Names are the name rules of one X.509 allow or deny list.
type X509Names struct {
	CommonNames []string `json:"cn,omitempty"`
	DNSDomains  []string `json:"dns,omitempty"`
	IPRanges    []string `json:"ip,omitempty"`
	Emails      []string `json:"email,omitempty"`
	URIDomains  []string `json:"uri,omitempty"`
}

// SSHPolicy holds the SSH user and host certificate rules.
type SSHPolicy struct {
	User *SSHPolicyRules `json:"user,omitempty"`
	Host *SSHPolicyRules `json:"host,omitempty"`
}

// SSHPolicyRules is the allow/deny pair for one SSH certificate type.
type SSHPolicyRules struct {
	Allow *SSHNames `json:"allow,omitempty"`
	Deny  *SSHNames `json:"deny,omitempty"`
}

// SSHNames are the name rules of one SSH allow or deny list.
type SSHNames struct {
	DNSDomains []string `json:"dns,omitempty"`
	IPRanges   []string `json:"ip,omitempty"`
	Emails     []string `json:"email,omitempty"`
	Principals []string `json:"principal,omitempty"`
}

// MultiString is a JSON string or array of strings ("root"). It is written
// back as a string when it holds one element, "" when empty, an array
// otherwise, as step-ca does.
type MultiString []string

// MarshalJSON implements json.Marshaler.
func (s MultiString) MarshalJSON() ([]byte, error) {
	switch len(s) {
	case 0:
		return []byte(`""`), nil
	case 1:
		return json.Marshal(s[0])
	default:
		return json.Marshal([]string(s))
	}
}

// UnmarshalJSON implements json.Unmarshaler: a string or an array of strings.
func (s *MultiString) UnmarshalJSON(data []byte) error {
	if len(data) > 0 && data[0] == '"' {
		var one string
		if err := json.Unmarshal(data, &one); err != nil {
			return errors.New("expected a string or an array of strings")
		}
		*s = MultiString{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(data, &many); err != nil {
		if len(data) > 0 && data[0] == '[' {
			return errors.New("expected an array of strings")
		}
		return fmt.Errorf("expected a string or an array of strings, got %s", jsonKind(data))
	}
	*s = many
	return nil
}

// Roots returns the root certificate file names ("root" as a string or an
// array), as a new slice.
func (c *Config) Roots() []string {
	return append([]string(nil), c.Root...)
}

// Source returns the file name Load or Parse was given, "" for a config built
// in code.
func (c *Config) Source() string { return c.source }

// LoggerFormat returns logger.format, "text" when unset.
func (c *Config) LoggerFormat() string {
	if c.Logger == nil || c.Logger.Format == "" {
		return "text"
	}
	return c.Logger.Format
}

// TraceHeader returns logger.traceHeader, "X-Smallstep-Id" when unset
// (wire-spec §2.4).
func (c *Config) TraceHeader() string {
	if c.Logger == nil || c.Logger.TraceHeader == "" {
		return "X-Smallstep-Id"
	}
	return c.Logger.TraceHeader
}

// IsEnabled reports whether CRL generation is on (nil-safe).
func (c *CRL) IsEnabled() bool { return c != nil && c.Enabled }

// RenewInterval is the CRL regeneration period: renewPeriod when set and
// positive, else 2/3 of cacheDuration (24h when unset). 0 when CRLs are
// disabled. Like step-ca, the default is computed, not written to ca.json.
func (c *CRL) RenewInterval() time.Duration {
	if !c.IsEnabled() {
		return 0
	}
	if c.RenewPeriod != nil && c.RenewPeriod.Duration > 0 {
		return c.RenewPeriod.Duration
	}
	cache := defaultCRLCacheDuration
	if c.CacheDuration != nil {
		cache = c.CacheDuration.Duration
	}
	return cache / 3 * 2
}

// ProvisionerHeader returns the "type" and "name" of a raw provisioner entry.
// Like encoding/json, keys match case-insensitively when there is no exact
// match. It fails when the entry is not an object or either member is not a
// non-empty string; the error names the member, never a value.
func ProvisionerHeader(raw json.RawMessage) (string, string, error) {
	obj, ok := provisionerObject(raw)
	if !ok {
		return "", "", fmt.Errorf("expected an object, got %s", jsonKind(raw))
	}
	typ, err := headerField(obj, "type")
	if err != nil {
		return "", "", fmt.Errorf("type: %w", err)
	}
	name, err := headerField(obj, "name")
	if err != nil {
		return typ, "", fmt.Errorf("name: %w", err)
	}
	return typ, name, nil
}

func provisionerObject(raw json.RawMessage) (map[string]json.RawMessage, bool) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		return nil, false
	}
	return obj, true
}

// headerField reads a required non-empty string member of a provisioner
// entry: exact key first, then case-insensitively.
func headerField(obj map[string]json.RawMessage, key string) (string, error) {
	v, ok := obj[key]
	if !ok {
		for k, vv := range obj {
			if strings.EqualFold(k, key) {
				v, ok = vv, true
				break
			}
		}
	}
	if !ok {
		return "", errors.New("missing")
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", fmt.Errorf("expected a string, got %s", jsonKind(v))
	}
	if s == "" {
		return "", errors.New("must not be empty")
	}
	return s, nil
}
