package ca

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/urfave/cli/v2"

	"github.com/mayfly-pki/mayfly/cmd/step/internal/ui"
	"github.com/mayfly-pki/mayfly/internal/fileutil"
	"github.com/mayfly-pki/mayfly/internal/pemutil"
	"github.com/mayfly-pki/mayfly/provisioner"
)

// This file holds the ca.json entries `step ca provisioner add` writes for
// each provisioner type, with step-ca's member order and omitempty rules, so
// that the file reads as step's (wire-spec §1.3, §7.4), and the flags that
// fill them.

type jwkEntry struct {
	Type         string              `json:"type"`
	Name         string              `json:"name"`
	Key          *jose.JSONWebKey    `json:"key"`
	EncryptedKey string              `json:"encryptedKey,omitempty"`
	Claims       *provisioner.Claims `json:"claims,omitempty"`
	Options      *provOptions        `json:"options,omitempty"`
}

type acmeEntry struct {
	Type               string              `json:"type"`
	Name               string              `json:"name"`
	ForceCN            bool                `json:"forceCN,omitempty"`
	RequireEAB         bool                `json:"requireEAB,omitempty"`
	Challenges         []string            `json:"challenges,omitempty"`
	AttestationFormats []string            `json:"attestationFormats,omitempty"`
	AttestationRoots   []byte              `json:"attestationRoots,omitempty"`
	Claims             *provisioner.Claims `json:"claims,omitempty"`
	Options            *provOptions        `json:"options,omitempty"`
}

// rootsEntry is an X5C or Nebula entry: "roots" is the base64 of the PEM.
type rootsEntry struct {
	Type    string              `json:"type"`
	Name    string              `json:"name"`
	Roots   []byte              `json:"roots"`
	Claims  *provisioner.Claims `json:"claims,omitempty"`
	Options *provOptions        `json:"options,omitempty"`
}

type k8sSAEntry struct {
	Type       string              `json:"type"`
	Name       string              `json:"name"`
	PublicKeys []byte              `json:"publicKeys,omitempty"`
	Claims     *provisioner.Claims `json:"claims,omitempty"`
	Options    *provOptions        `json:"options,omitempty"`
}

type sshpopEntry struct {
	Type   string              `json:"type"`
	Name   string              `json:"name"`
	Claims *provisioner.Claims `json:"claims,omitempty"`
}

type oidcEntry struct {
	Type                  string              `json:"type"`
	Name                  string              `json:"name"`
	ClientID              string              `json:"clientID"`
	ClientSecret          string              `json:"clientSecret"`
	ConfigurationEndpoint string              `json:"configurationEndpoint"`
	TenantID              string              `json:"tenantID,omitempty"`
	Admins                []string            `json:"admins,omitempty"`
	Domains               []string            `json:"domains,omitempty"`
	Groups                []string            `json:"groups,omitempty"`
	ListenAddress         string              `json:"listenAddress,omitempty"`
	Scopes                []string            `json:"scopes,omitempty"`
	AuthParams            []string            `json:"authParams,omitempty"`
	Claims                *provisioner.Claims `json:"claims,omitempty"`
	Options               *provOptions        `json:"options,omitempty"`
}

// scepEntry has options before claims, as step-ca's SCEP type.
type scepEntry struct {
	Type                          string              `json:"type"`
	Name                          string              `json:"name"`
	ForceCN                       bool                `json:"forceCN,omitempty"`
	Challenge                     string              `json:"challenge,omitempty"`
	Capabilities                  []string            `json:"capabilities,omitempty"`
	IncludeRoot                   bool                `json:"includeRoot,omitempty"`
	ExcludeIntermediate           bool                `json:"excludeIntermediate,omitempty"`
	MinimumPublicKeyLength        int                 `json:"minimumPublicKeyLength,omitempty"`
	DecrypterCertificate          []byte              `json:"decrypterCertificate,omitempty"`
	DecrypterKeyPEM               []byte              `json:"decrypterKeyPEM,omitempty"`
	DecrypterKeyURI               string              `json:"decrypterKey,omitempty"`
	DecrypterKeyPassword          string              `json:"decrypterKeyPassword,omitempty"`
	EncryptionAlgorithmIdentifier int                 `json:"encryptionAlgorithmIdentifier,omitempty"`
	Options                       *provOptions        `json:"options,omitempty"`
	Claims                        *provisioner.Claims `json:"claims,omitempty"`
}

// awsEntry: instanceAge is a struct, so step-ca writes it even when zero ("0s").
type awsEntry struct {
	Type                   string               `json:"type"`
	Name                   string               `json:"name"`
	Accounts               []string             `json:"accounts"`
	DisableCustomSANs      bool                 `json:"disableCustomSANs"`
	DisableTrustOnFirstUse bool                 `json:"disableTrustOnFirstUse"`
	IMDSVersions           []string             `json:"imdsVersions"`
	InstanceAge            provisioner.Duration `json:"instanceAge"`
	IIDRoots               string               `json:"iidRoots,omitempty"`
	DisableSSHCAUser       *bool                `json:"disableSSHCAUser,omitempty"`
	DisableSSHCAHost       *bool                `json:"disableSSHCAHost,omitempty"`
	Claims                 *provisioner.Claims  `json:"claims,omitempty"`
	Options                *provOptions         `json:"options,omitempty"`
}

type gcpEntry struct {
	Type                   string               `json:"type"`
	Name                   string               `json:"name"`
	ServiceAccounts        []string             `json:"serviceAccounts"`
	ProjectIDs             []string             `json:"projectIDs"`
	OrganizationID         string               `json:"organizationID,omitempty"`
	DisableCustomSANs      bool                 `json:"disableCustomSANs"`
	DisableTrustOnFirstUse bool                 `json:"disableTrustOnFirstUse"`
	DisableSSHCAUser       *bool                `json:"disableSSHCAUser,omitempty"`
	DisableSSHCAHost       *bool                `json:"disableSSHCAHost,omitempty"`
	InstanceAge            provisioner.Duration `json:"instanceAge"`
	Claims                 *provisioner.Claims  `json:"claims,omitempty"`
	Options                *provOptions         `json:"options,omitempty"`
}

type azureEntry struct {
	Type                   string              `json:"type"`
	Name                   string              `json:"name"`
	TenantID               string              `json:"tenantID"`
	ResourceGroups         []string            `json:"resourceGroups"`
	SubscriptionIDs        []string            `json:"subscriptionIDs,omitempty"`
	ObjectIDs              []string            `json:"objectIDs,omitempty"`
	Audience               string              `json:"audience,omitempty"`
	DisableCustomSANs      bool                `json:"disableCustomSANs"`
	DisableTrustOnFirstUse bool                `json:"disableTrustOnFirstUse"`
	DisableSSHCAUser       *bool               `json:"disableSSHCAUser,omitempty"`
	DisableSSHCAHost       *bool               `json:"disableSSHCAHost,omitempty"`
	Claims                 *provisioner.Claims `json:"claims,omitempty"`
	Options                *provOptions        `json:"options,omitempty"`
}

// provTypeFlags returns the flags of the non-JWK provisioner types
// (--public-key, shared with K8SSA, is in provJWKFlags).
func provTypeFlags() []cli.Flag {
	str := func(name, usage string) cli.Flag { return &cli.StringFlag{Name: name, Usage: usage} }
	list := func(name, usage string) cli.Flag { return &cli.StringSliceFlag{Name: name, Usage: usage} }
	boolean := func(name, usage string) cli.Flag { return &cli.BoolFlag{Name: name, Usage: usage} }
	return []cli.Flag{
		// OIDC
		str("client-id", "The `id` used to validate the audience in an OpenID Connect token."),
		str("client-secret", "The `secret` used to obtain the OpenID Connect tokens."),
		str("configuration-endpoint", "OpenID Connect configuration `url`."),
		list("domain", "The `domain` used to validate the email claim in an OpenID Connect provisioner. Use the flag multiple times for several."),
		list("group", "The `group` list used to validate the groups extension in an OpenID Connect token. Use the flag multiple times for several."),
		list("admin", "The `email` of an admin user in an OpenID Connect provisioner. Use the flag multiple times for several."),
		str("tenant-id", "The `tenant-id` used to replace the templatized tenantid value in the OpenID Configuration."),
		str("listen-address", "The callback `address` used in the OpenID Connect flow (e.g. \":10000\")."),
		list("scope", "The `scope` to request in the OpenID Connect flow. Use the flag multiple times for several."),
		list("auth-param", "The `parameter` to add to the OpenID Connect authentication URL. Use the flag multiple times for several."),
		// X5C, Nebula
		&cli.StringFlag{Name: "x5c-roots", Aliases: []string{"x5c-root"}, Usage: "PEM-formatted root certificate(s) `file` used to validate the signature on X5C provisioning tokens."},
		str("nebula-root", "Root certificate (chain) `file` used to validate the signature on Nebula provisioning tokens."),
		// ACME, SCEP
		boolean("force-cn", "Always set the common name in provisioned certificates."),
		boolean("require-eab", "Require (and enable) External Account Binding (EAB) for Account creation."),
		list("challenge", "With ACME, the `challenge` to enable (http-01, dns-01, tls-alpn-01, device-attest-01; repeatable); with SCEP, the challenge secret."),
		list("attestation-format", "The `format` to enable in the device-attest-01 challenge: apple, step or tpm (repeatable)."),
		list("attestation-roots", "PEM-formatted root certificate(s) `file` used to validate the attestation certificates (repeatable)."),
		list("capabilities", "The SCEP `capabilities` to advertise (repeatable)."),
		boolean("include-root", "Include the CA root certificate in the SCEP CA certificate chain."),
		boolean("exclude-intermediate", "Exclude the CA intermediate certificate from the SCEP CA certificate chain."),
		&cli.IntFlag{Name: "min-public-key-length", Usage: "The minimum public key `length` of the SCEP RSA encryption key (default 2048)."},
		&cli.IntFlag{Name: "encryption-algorithm-identifier", Usage: "The `id` of the SCEP content encryption algorithm: 0 DES-CBC, 1 AES-128-CBC, 2 AES-256-CBC, 3 AES-128-GCM, 4 AES-256-GCM."},
		str("scep-decrypter-certificate-file", "The `file` with the SCEP decrypter certificate."),
		str("scep-decrypter-key-file", "The `file` with the SCEP decrypter private key (PEM)."),
		str("scep-decrypter-key-uri", "The `uri` of the SCEP decrypter key in a KMS."),
		str("scep-decrypter-key-password-file", "The `file` with the password of the SCEP decrypter key."),
		// AWS, GCP, Azure
		list("aws-account", "The AWS account `id` used to validate the identity documents (repeatable)."),
		list("gcp-service-account", "The GCP service account `email` or id used to validate the identity tokens (repeatable)."),
		list("gcp-project", "The GCP project `name` used to validate the identity tokens (repeatable)."),
		str("gcp-organization", "The GCP organization `id` used to validate the identity tokens."),
		str("azure-tenant", "The Microsoft Azure tenant `id` used to validate the identity tokens."),
		list("azure-resource-group", "The Microsoft Azure resource group `name` used to validate the identity tokens (repeatable)."),
		str("azure-audience", "The Microsoft Azure `audience` used to validate the identity tokens."),
		list("azure-subscription-id", "The Microsoft Azure subscription `id` used to validate the identity tokens (repeatable)."),
		list("azure-object-id", "The Microsoft Azure AD object `id` used to validate the identity tokens (repeatable)."),
		str("instance-age", "The maximum `duration` to grant a certificate in AWS and GCP provisioners."),
		str("iid-roots", "The `file` with the certificates used to validate the AWS identity document signature."),
		boolean("disable-custom-sans", "Only allow the instance's own names in the certificate SANs."),
		boolean("disable-trust-on-first-use", "Allow multiple certificates for the same instance."),
		boolean("disable-ssh-ca-user", "Disable SSH user certificates for the cloud provisioner."),
		boolean("disable-ssh-ca-host", "Disable SSH host certificates for the cloud provisioner."),
	}
}

func newACMEEntry(c *cli.Context, name string, claims *provisioner.Claims, opts *provOptions) (*acmeEntry, error) {
	challenges, err := provChoices(c, "challenge", "http-01", "dns-01", "tls-alpn-01", "device-attest-01")
	if err != nil {
		return nil, err
	}
	formats, err := provChoices(c, "attestation-format", "apple", "step", "tpm")
	if err != nil {
		return nil, err
	}
	var roots []byte
	for _, f := range c.StringSlice("attestation-roots") {
		certs, err := readProvCACerts(f, "--attestation-roots")
		if err != nil {
			return nil, err
		}
		roots = append(roots, certs...)
	}
	return &acmeEntry{
		Type: "ACME", Name: name, ForceCN: c.Bool("force-cn"), RequireEAB: c.Bool("require-eab"),
		Challenges: challenges, AttestationFormats: formats, AttestationRoots: roots, Claims: claims, Options: opts,
	}, nil
}

// provChoices returns the lower-cased, de-duplicated values of a repeatable
// flag, each of which must be one of allowed.
func provChoices(c *cli.Context, flag string, allowed ...string) ([]string, error) {
	var out []string
	for _, v := range c.StringSlice(flag) {
		lv := strings.ToLower(strings.TrimSpace(v))
		ok := false
		for _, a := range allowed {
			ok = ok || lv == a
		}
		if !ok {
			return nil, fmt.Errorf("invalid value '%s' for flag '--%s'; options are %s", v, flag, strings.Join(allowed, ", "))
		}
		dup := false
		for _, o := range out {
			dup = dup || o == lv
		}
		if !dup {
			out = append(out, lv)
		}
	}
	return out, nil
}

// readProvCACerts reads a PEM bundle of CA certificates (each must be a CA
// allowed to sign certificates) and returns their PEM, re-encoded.
func readProvCACerts(file, flag string) ([]byte, error) {
	certs, err := pemutil.ReadCertificates(file)
	if err != nil {
		return nil, fmt.Errorf("error reading the certificates of %s: %w", flag, err)
	}
	var out []byte
	for _, crt := range certs {
		if !crt.IsCA || crt.KeyUsage&x509.KeyUsageCertSign == 0 {
			return nil, fmt.Errorf("certificate with common name %q in %s is not a valid CA: it needs the CA basic constraint and the 'Certificate Sign' key usage", crt.Subject.CommonName, file)
		}
		out = append(out, pemutil.EncodeCertificate(crt)...)
	}
	return out, nil
}

// newX5CEntry stores --x5c-roots as "roots": the base64 of the root
// certificates' PEM, separated by a blank line as step writes them.
func newX5CEntry(c *cli.Context, name string, claims *provisioner.Claims, opts *provOptions) (*rootsEntry, error) {
	file := c.String("x5c-roots")
	if file == "" {
		return nil, errors.New("flag '--x5c-roots' is required with '--type X5C'")
	}
	certs, err := pemutil.ReadCertificates(file)
	if err != nil {
		return nil, fmt.Errorf("error loading the X5C root certificates: %w", err)
	}
	var blocks [][]byte
	for _, crt := range certs {
		if crt.KeyUsage&x509.KeyUsageCertSign == 0 {
			return nil, fmt.Errorf("certificate with common name %q cannot be used as an X5C root certificate: X5C provisioner root certificates must have the 'Certificate Sign' key usage", crt.Subject.CommonName)
		}
		blocks = append(blocks, pemutil.EncodeCertificate(crt))
	}
	return &rootsEntry{Type: "X5C", Name: name, Roots: bytes.Join(blocks, []byte("\n")), Claims: claims, Options: opts}, nil
}

// newK8sSAEntry stores the PEM public keys of --public-key as "publicKeys".
func newK8sSAEntry(c *cli.Context, name string, claims *provisioner.Claims, opts *provOptions) (*k8sSAEntry, error) {
	keys, err := readProvPublicKeys(c.String("public-key"))
	if err != nil {
		return nil, err
	}
	return &k8sSAEntry{Type: "K8SSA", Name: name, PublicKeys: keys, Claims: claims, Options: opts}, nil
}

// readProvPublicKeys reads the PEM public keys of a K8SSA provisioner and
// returns them re-encoded as "PUBLIC KEY" blocks, one after the other, as
// step writes them (each key serialized, the PEM blocks concatenated).
func readProvPublicKeys(file string) ([]byte, error) {
	if file == "" {
		return nil, errors.New("flag '--public-key' is required with '--type K8SSA'")
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("error reading %s: %w", file, errors.Unwrap(err))
	}
	var blocks [][]byte
	for rest := data; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		key, err := pemutil.ParsePublicKey(pem.EncodeToMemory(b))
		if err != nil {
			return nil, fmt.Errorf("error parsing the public keys in %s: %w", file, err)
		}
		switch key.(type) {
		case *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey:
		default:
			return nil, fmt.Errorf("unexpected public key type %T in %s", key, file)
		}
		out, err := pemutil.MarshalPublicKey(key)
		if err != nil {
			return nil, fmt.Errorf("error encoding the public keys in %s: %w", file, err)
		}
		blocks = append(blocks, pem.EncodeToMemory(out))
	}
	if len(blocks) == 0 {
		return nil, fmt.Errorf("%s does not contain any PEM public key", file)
	}
	return bytes.Join(blocks, nil), nil
}

// newOIDCEntry stores the OIDC flags as given; nothing is fetched.
func newOIDCEntry(c *cli.Context, name string, claims *provisioner.Claims, opts *provOptions) (*oidcEntry, error) {
	clientID, endpoint := c.String("client-id"), c.String("configuration-endpoint")
	switch {
	case clientID == "":
		return nil, errors.New("flag '--client-id' is required with '--type OIDC'")
	case endpoint == "":
		return nil, errors.New("flag '--configuration-endpoint' is required with '--type OIDC'")
	}
	if u, err := url.Parse(endpoint); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("invalid value '%s' for flag '--configuration-endpoint': an http or https URL is required", endpoint)
	}
	if a := c.String("listen-address"); a != "" {
		if _, _, err := net.SplitHostPort(a); err != nil {
			return nil, fmt.Errorf("invalid value '%s' for flag '--listen-address': a host:port address is required", a)
		}
	}
	return &oidcEntry{
		Type: "OIDC", Name: name, ClientID: clientID, ClientSecret: c.String("client-secret"),
		ConfigurationEndpoint: endpoint, TenantID: c.String("tenant-id"), Admins: c.StringSlice("admin"),
		Domains: c.StringSlice("domain"), Groups: c.StringSlice("group"), ListenAddress: c.String("listen-address"),
		Scopes: c.StringSlice("scope"), AuthParams: c.StringSlice("auth-param"), Claims: claims, Options: opts,
	}, nil
}

// newSCEPEntry stores the SCEP flags; like step-ca, a zero minimum key
// length becomes 2048.
func newSCEPEntry(c *cli.Context, name string, claims *provisioner.Claims, opts *provOptions) (*scepEntry, error) {
	challenges := c.StringSlice("challenge")
	if len(challenges) > 1 {
		return nil, errors.New("provisioner type 'SCEP' does not support multiple '--challenge' flags")
	}
	e := &scepEntry{
		Type: "SCEP", Name: name, ForceCN: c.Bool("force-cn"), Capabilities: c.StringSlice("capabilities"),
		IncludeRoot: c.Bool("include-root"), ExcludeIntermediate: c.Bool("exclude-intermediate"),
		MinimumPublicKeyLength:        c.Int("min-public-key-length"),
		EncryptionAlgorithmIdentifier: c.Int("encryption-algorithm-identifier"),
		DecrypterKeyURI:               c.String("scep-decrypter-key-uri"), Options: opts, Claims: claims,
	}
	if len(challenges) == 1 {
		e.Challenge = challenges[0]
	}
	if e.MinimumPublicKeyLength == 0 {
		e.MinimumPublicKeyLength = 2048
	}
	if e.MinimumPublicKeyLength < 0 || e.MinimumPublicKeyLength%8 != 0 {
		return nil, fmt.Errorf("invalid value '%d' for flag '--min-public-key-length': the length must be a positive multiple of 8", e.MinimumPublicKeyLength)
	}
	if id := e.EncryptionAlgorithmIdentifier; id < 0 || id > 4 {
		return nil, fmt.Errorf("invalid value '%d' for flag '--encryption-algorithm-identifier'; options are 0, 1, 2, 3 or 4", id)
	}
	if f := c.String("scep-decrypter-certificate-file"); f != "" {
		certs, err := pemutil.ReadCertificates(f)
		if err != nil {
			return nil, fmt.Errorf("error reading the SCEP decrypter certificate: %w", err)
		}
		e.DecrypterCertificate = pemutil.EncodeCertificate(certs[0])
	}
	if f := c.String("scep-decrypter-key-file"); f != "" {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("error reading %s: %w", f, errors.Unwrap(err))
		}
		if b, rest := pem.Decode(data); b == nil || len(bytes.TrimSpace(rest)) > 0 {
			return nil, fmt.Errorf("%s must hold exactly one PEM block (the SCEP decrypter key)", f)
		}
		e.DecrypterKeyPEM = data
	}
	if f := c.String("scep-decrypter-key-password-file"); f != "" {
		pw, err := fileutil.ReadPasswordFile(f)
		if err != nil {
			return nil, err
		}
		e.DecrypterKeyPassword = string(pw)
	}
	return e, nil
}

// provIID holds the flags AWS, GCP and Azure share.
type provIID struct {
	age        provisioner.Duration
	user, host *bool // --disable-ssh-ca-user/host, nil unless given
}

// provIIDCommon reads the flags AWS, GCP and Azure share.
func provIIDCommon(c *cli.Context) (provIID, error) {
	var out provIID
	if v := c.String("instance-age"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return out, fmt.Errorf("invalid value '%s' for flag '--instance-age': a positive duration such as 1h is required", v)
		}
		out.age.Duration = d
	}
	if c.IsSet("disable-ssh-ca-user") {
		v := c.Bool("disable-ssh-ca-user")
		out.user = &v
	}
	if c.IsSet("disable-ssh-ca-host") {
		v := c.Bool("disable-ssh-ca-host")
		out.host = &v
	}
	return out, nil
}

// newAWSEntry stores the AWS flags; like step-ca, imdsVersions defaults to
// ["v2","v1"]. --iid-roots is stored as an absolute path.
func newAWSEntry(c *cli.Context, name string, claims *provisioner.Claims, opts *provOptions) (*awsEntry, error) {
	iid, err := provIIDCommon(c)
	if err != nil {
		return nil, err
	}
	roots := c.String("iid-roots")
	if roots != "" {
		if _, err := pemutil.ReadCertificates(roots); err != nil {
			return nil, fmt.Errorf("error reading --iid-roots: %w", err)
		}
		if roots, err = filepath.Abs(roots); err != nil {
			return nil, fmt.Errorf("error resolving --iid-roots: %w", err)
		}
	}
	return &awsEntry{
		Type: "AWS", Name: name, Accounts: c.StringSlice("aws-account"), DisableCustomSANs: c.Bool("disable-custom-sans"),
		DisableTrustOnFirstUse: c.Bool("disable-trust-on-first-use"), IMDSVersions: []string{"v2", "v1"},
		InstanceAge: iid.age, IIDRoots: roots, DisableSSHCAUser: iid.user, DisableSSHCAHost: iid.host, Claims: claims, Options: opts,
	}, nil
}

func newGCPEntry(c *cli.Context, name string, claims *provisioner.Claims, opts *provOptions) (*gcpEntry, error) {
	iid, err := provIIDCommon(c)
	if err != nil {
		return nil, err
	}
	return &gcpEntry{
		Type: "GCP", Name: name, ServiceAccounts: c.StringSlice("gcp-service-account"), ProjectIDs: c.StringSlice("gcp-project"),
		OrganizationID: c.String("gcp-organization"), DisableCustomSANs: c.Bool("disable-custom-sans"),
		DisableTrustOnFirstUse: c.Bool("disable-trust-on-first-use"), DisableSSHCAUser: iid.user, DisableSSHCAHost: iid.host,
		InstanceAge: iid.age, Claims: claims, Options: opts,
	}, nil
}

func newAzureEntry(c *cli.Context, name string, claims *provisioner.Claims, opts *provOptions) (*azureEntry, error) {
	tenant := c.String("azure-tenant")
	if tenant == "" {
		return nil, errors.New("flag '--azure-tenant' is required with '--type Azure'")
	}
	iid, err := provIIDCommon(c)
	if err != nil {
		return nil, err
	}
	return &azureEntry{
		Type: "AZURE", Name: name, TenantID: tenant, ResourceGroups: c.StringSlice("azure-resource-group"),
		SubscriptionIDs: c.StringSlice("azure-subscription-id"), ObjectIDs: c.StringSlice("azure-object-id"),
		Audience: c.String("azure-audience"), DisableCustomSANs: c.Bool("disable-custom-sans"),
		DisableTrustOnFirstUse: c.Bool("disable-trust-on-first-use"), DisableSSHCAUser: iid.user, DisableSSHCAHost: iid.host,
		Claims: claims, Options: opts,
	}, nil
}

// newNebulaEntry stores the Nebula CA certificates of --nebula-root (PEM
// blocks "NEBULA CERTIFICATE...") as "roots".
func newNebulaEntry(c *cli.Context, name string, claims *provisioner.Claims, opts *provOptions) (*rootsEntry, error) {
	file := c.String("nebula-root")
	if file == "" {
		return nil, errors.New("flag '--nebula-root' is required with '--type Nebula'")
	}
	data, err := ui.ReadInput(file)
	if err != nil {
		return nil, err
	}
	var roots []byte
	for rest := data; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		if !strings.HasPrefix(b.Type, "NEBULA CERTIFICATE") {
			return nil, fmt.Errorf("%s: unexpected PEM block %q, want NEBULA CERTIFICATE", file, b.Type)
		}
		roots = append(roots, pem.EncodeToMemory(b)...)
	}
	if len(roots) == 0 {
		return nil, fmt.Errorf("%s does not contain any Nebula CA certificate", file)
	}
	return &rootsEntry{Type: "NEBULA", Name: name, Roots: roots, Claims: claims, Options: opts}, nil
}
