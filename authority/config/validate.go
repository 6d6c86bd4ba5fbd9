package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/mayfly-pki/mayfly/provisioner"
)

// Problem is one configuration problem. Path is a JSON path such as
// "authority.provisioners[2].name" ("" for the document itself).
type Problem struct {
	Path    string
	Message string
}

// String formats the problem as "path: message" (just the message when the
// path is empty).
func (p Problem) String() string {
	if p.Path == "" {
		return p.Message
	}
	return p.Path + ": " + p.Message
}

// ValidationError lists every problem found in a configuration. Messages
// never contain passwords, DSNs, KMS URIs or key material.
type ValidationError struct {
	// File is the file name given to Load/Parse ("" for a config built in
	// code, shown as "ca.json").
	File     string
	Problems []Problem
}

// Error is "file: path: message" for one problem, otherwise a header line
// "file: N problems:" followed by one indented line per problem.
func (e *ValidationError) Error() string {
	file := e.File
	if file == "" {
		file = "ca.json"
	}
	if len(e.Problems) == 1 {
		return file + ": " + e.Problems[0].String()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d problems:", file, len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.String())
	}
	return b.String()
}

type checker struct {
	problems []Problem
}

func (k *checker) add(path, format string, args ...any) {
	k.problems = append(k.problems, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

// Validate checks the whole configuration and reports every problem, each
// with its JSON path, as a *ValidationError (nil when there is none). It does
// not modify c. Absent optional blocks are fine; zero values that Defaults
// would fill count as their defaults. Unknown
// keys are not problems here (see UnknownKeys). Provisioner entries are only
// checked for an object with non-empty string "type" and "name", unique names
// (case-sensitive), at most one K8sSA, and an X.509 template that parses
// (options.x509, see provisioner.ParseX509Template); each provisioner type
// validates the rest of its entry.
//
// The template files provisioners name are the only files Validate reads
// (relative paths are relative to the current $STEPPATH): a CA must not
// start, nor reload, with a template it cannot use.
func (c *Config) Validate() error {
	k := new(checker)
	c.validateListeners(k)
	c.validateKeys(k)
	c.validateDNSNames(k)
	c.validateTLS(k)
	validateAuthority(k, c.Authority)
	validateKMS(k, c.KMS)
	validateSSH(k, c.SSH)
	validateLogger(k, c.Logger)
	validateDB(k, c.DB)
	validateTemplates(k, c.Templates)
	validateCRL(k, c.CRL)
	validateOCSP(k, c.OCSP)
	validateAudit(k, c.Audit)
	if len(k.problems) == 0 {
		return nil
	}
	return &ValidationError{File: c.source, Problems: k.problems}
}

func (c *Config) validateListeners(k *checker) {
	if c.Address == "" {
		k.add("address", "required (host:port the CA listens on)")
	} else {
		checkHostPort(k, "address", c.Address)
	}
	if c.InsecureAddress != "" {
		checkHostPort(k, "insecureAddress", c.InsecureAddress)
	}
	if c.MetricsAddress != "" {
		checkHostPort(k, "metricsAddress", c.MetricsAddress)
	}
}

func checkHostPort(k *checker, path, addr string) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		k.add(path, "invalid host:port %q: %s", addr, strings.TrimPrefix(err.Error(), "address "+addr+": "))
		return
	}
	if port == "" {
		k.add(path, "missing port in %q", addr)
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		k.add(path, "invalid port %q in %q", port, addr)
	}
	if host != "" && net.ParseIP(host) == nil && !validHostname(host) {
		k.add(path, "invalid host %q in %q", host, addr)
	}
}

func (c *Config) validateKeys(k *checker) {
	for i, r := range c.FederatedRoots {
		if r == "" {
			k.add(fmt.Sprintf("federatedRoots[%d]", i), "must not be empty")
		}
	}
	if c.Authority != nil && casType(c.Authority.Type) != "softcas" {
		return
	}
	// The default (softcas) authority signs with local files or KMS keys.
	switch {
	case len(c.Root) == 0:
		k.add("root", "required (root certificate file)")
	case len(c.Root) == 1 && c.Root[0] == "":
		k.add("root", "must not be empty")
	default:
		for i, r := range c.Root {
			if r == "" {
				k.add(fmt.Sprintf("root[%d]", i), "must not be empty")
			}
		}
	}
	if c.IntermediateCert == "" {
		k.add("crt", "required (intermediate certificate file)")
	}
	if c.IntermediateKey == "" {
		k.add("key", "required (intermediate key file or KMS URI)")
	}
}

func (c *Config) validateDNSNames(k *checker) {
	if c.DNSNames != nil && len(c.DNSNames) == 0 {
		k.add("dnsNames", "must not be empty")
	}
	for i, name := range c.DNSNames {
		if net.ParseIP(name) == nil && !validHostname(name) {
			k.add(fmt.Sprintf("dnsNames[%d]", i), "%q is neither a DNS name nor an IP address", name)
		}
	}
}

func (c *Config) validateTLS(k *checker) {
	t := c.TLS
	if t == nil {
		return
	}
	for i, name := range t.CipherSuites {
		if _, ok := CipherSuiteID(name); !ok {
			k.add(fmt.Sprintf("tls.cipherSuites[%d]", i), "unknown cipher suite %q", name)
		}
	}
	eff := effectiveTLS(t)
	okMin, okMax := eff.MinVersion.Value() != 0, eff.MaxVersion.Value() != 0
	if !okMin {
		k.add("tls.minVersion", "unsupported TLS version %s (want 1.0, 1.1, 1.2 or 1.3)", eff.MinVersion)
	}
	if !okMax {
		k.add("tls.maxVersion", "unsupported TLS version %s (want 1.0, 1.1, 1.2 or 1.3)", eff.MaxVersion)
	}
	if okMin && okMax && eff.MinVersion > eff.MaxVersion {
		k.add("tls.minVersion", "%s is greater than tls.maxVersion %s", eff.MinVersion, eff.MaxVersion)
	}
}

// casType normalises authority.type: "" means softcas; case-insensitive.
func casType(t string) string {
	if t == "" {
		return "softcas"
	}
	return strings.ToLower(t)
}

func validateAuthority(k *checker, a *Authority) {
	if a == nil {
		return
	}
	validateCAS(k, a)
	switch strings.ToLower(a.DeploymentType) {
	case "", "standalone", "linked", "hosted":
	default:
		k.add("authority.deploymentType", "unknown deployment type %q (want standalone, linked or hosted)", a.DeploymentType)
	}
	global := a.Claims.Merge(provisioner.DefaultClaims)
	for _, p := range global.Problems() {
		k.add("authority.claims."+p.Claim, "%s", p.Msg)
	}
	validateProvisioners(k, a.Provisioners, global)
	if a.Backdate != nil && a.Backdate.Duration < 0 {
		k.add("authority.backdate", "must not be negative, got %s", a.Backdate.Duration)
	}
	validatePolicy(k, "authority.policy", a.Policy)
	validateLint(k, "authority.lint", a.Lint)
}

func validateCAS(k *checker, a *Authority) {
	typ := casType(a.Type)
	switch typ {
	case "softcas", "externalcas":
	case "stepcas":
		if a.CertificateAuthority == "" {
			k.add("authority.certificateAuthority", "required for stepcas (URL of the upstream CA)")
		}
		if a.CertificateAuthorityFingerprint == "" {
			k.add("authority.certificateAuthorityFingerprint", "required for stepcas")
		}
		if a.CertificateIssuer == nil {
			k.add("authority.certificateIssuer", "required for stepcas")
		}
	case "cloudcas", "vaultcas":
		if a.CertificateAuthority == "" {
			k.add("authority.certificateAuthority", "required for %s", typ)
		}
	default:
		k.add("authority.type", "unknown CAS type %q (want softcas, cloudcas, stepcas, vaultcas or externalcas)", a.Type)
	}
	if ci := a.CertificateIssuer; ci != nil {
		switch strings.ToLower(ci.Type) {
		case "jwk":
			if ci.Provisioner == "" {
				k.add("authority.certificateIssuer.provisioner", "required for a jwk issuer")
			}
		case "x5c":
			if ci.Certificate == "" {
				k.add("authority.certificateIssuer.crt", "required for an x5c issuer")
			}
			if ci.Key == "" {
				k.add("authority.certificateIssuer.key", "required for an x5c issuer")
			}
		default:
			k.add("authority.certificateIssuer.type", "unknown issuer type %q (want jwk or x5c)", ci.Type)
		}
	}
}

func validateProvisioners(k *checker, list []json.RawMessage, global provisioner.Resolved) {
	seen := make(map[string]int, len(list))
	firstK8s := -1
	for i, raw := range list {
		path := fmt.Sprintf("authority.provisioners[%d]", i)
		obj, ok := provisionerObject(raw)
		if !ok {
			k.add(path, "expected an object, got %s", jsonKind(raw))
			continue
		}
		typ, err := headerField(obj, "type")
		if err != nil {
			k.add(path+".type", "%s", err.Error())
		}
		name, err := headerField(obj, "name")
		if err != nil {
			k.add(path+".name", "%s", err.Error())
		}
		if name != "" {
			if j, dup := seen[name]; dup {
				k.add(path+".name", "duplicate provisioner name %q (also authority.provisioners[%d])", name, j)
			} else {
				seen[name] = i
			}
		}
		if opts, ok := objectMember(obj, "options"); ok {
			if _, err := provisioner.ParseX509Template(opts, ""); err != nil {
				var oe *provisioner.OptionError
				if errors.As(err, &oe) {
					k.add(path+"."+oe.Path, "%s", oe.Err.Error())
				} else {
					k.add(path+".options", "%s", err.Error())
				}
			}
		}
		validateProvisionerClaims(k, path, name, obj, global)
		validateProvisionerLint(k, path, name, obj)
		if raw, ok := objectMember(obj, "policy"); ok && !isNull(raw) {
			var p Policy
			if err := json.Unmarshal(raw, &p); err != nil {
				k.add(path+".policy", "provisioner %q: invalid policy: %s", name, err.Error())
			} else {
				validatePolicy(k, path+".policy", &p)
			}
		}
		if strings.EqualFold(typ, "k8ssa") {
			if firstK8s >= 0 {
				k.add(path+".type", "at most one K8sSA provisioner is allowed (another is authority.provisioners[%d])", firstK8s)
			} else {
				firstK8s = i
			}
		}
	}
}

// validateProvisionerClaims reports every inconsistency of a provisioner's
// claims merged over the authority's, under the claim's JSON path, naming
// the provisioner.
func validateProvisionerClaims(k *checker, path, name string, obj map[string]json.RawMessage, global provisioner.Resolved) {
	raw, ok := objectMember(obj, "claims")
	if !ok || isNull(raw) {
		return
	}
	var c provisioner.Claims
	if err := json.Unmarshal(raw, &c); err != nil {
		k.add(path+".claims", "provisioner %q: invalid claims: %s", name, err.Error())
		return
	}
	for _, p := range c.Merge(global).Problems() {
		k.add(path+".claims."+p.Claim, "provisioner %q: %s", name, p.Msg)
	}
}

func isNull(raw json.RawMessage) bool { return strings.TrimSpace(string(raw)) == "null" }

// objectMember returns obj[key], matched exactly first, then
// case-insensitively (as encoding/json matches step-ca's struct fields).
func objectMember(obj map[string]json.RawMessage, key string) (json.RawMessage, bool) {
	if v, ok := obj[key]; ok {
		return v, true
	}
	for k, v := range obj {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return nil, false
}

func validateKMS(k *checker, m *KMS) {
	if m == nil {
		return
	}
	switch strings.ToLower(m.Type) {
	case "", "softkms", "cloudkms", "awskms", "pkcs11", "yubikey", "sshagentkms", "azurekms",
		"capi", "tpmkms", "mackms", "kms":
	default:
		k.add("kms.type", "unknown KMS type %q", m.Type)
	}
}

func validateLogger(k *checker, l *Logger) {
	if l == nil {
		return
	}
	switch strings.ToLower(l.Format) {
	case "", "text", "json", "common":
	default:
		k.add("logger.format", "unknown format %q (want text, json or common)", l.Format)
	}
}

func validateDB(k *checker, db *DB) {
	if db == nil {
		return
	}
	typ := strings.ToLower(db.Type)
	switch typ {
	case "badger", "badgerv1", "badgerv2", "bbolt", "mysql", "postgresql":
	case "":
		k.add("db.type", "required (badgerv2, bbolt, mysql or postgresql)")
	default:
		k.add("db.type", "unknown database type %q (want badger, badgerv1, badgerv2, bbolt, mysql or postgresql)", db.Type)
	}
	if db.DataSource == "" {
		k.add("db.dataSource", "required")
	}
	switch strings.ToLower(db.BadgerFileLoadingMode) {
	case "", "fileio", "memorymap":
	default:
		k.add("db.badgerFileLoadingMode", "unknown mode %q (want FileIO or MemoryMap)", db.BadgerFileLoadingMode)
	}
	if db.Retention != nil && db.Retention.Duration <= 0 {
		k.add("db.retention", "must be positive, got %s", db.Retention.Duration)
	}
}

func validateOCSP(k *checker, o *OCSP) {
	if o == nil {
		return
	}
	if o.CacheDuration != nil && o.CacheDuration.Duration <= 0 {
		k.add("ocsp.cacheDuration", "must be positive, got %s", o.CacheDuration.Duration)
	}
	if o.ResponderDuration != nil && o.ResponderDuration.Duration <= 0 {
		k.add("ocsp.responderDuration", "must be positive, got %s", o.ResponderDuration.Duration)
	}
	if o.URL != "" {
		if u, err := url.Parse(o.URL); err != nil || u.Scheme == "" || u.Host == "" {
			k.add("ocsp.url", "%q is not an absolute URL", o.URL)
		}
	}
}

func validateCRL(k *checker, c *CRL) {
	if c == nil {
		return
	}
	if c.CacheDuration != nil && c.CacheDuration.Duration < 0 {
		k.add("crl.cacheDuration", "must not be negative, got %s", c.CacheDuration.Duration)
	}
	if c.RenewPeriod != nil && c.RenewPeriod.Duration < 0 {
		k.add("crl.renewPeriod", "must not be negative, got %s", c.RenewPeriod.Duration)
	}
	var cache time.Duration
	switch {
	case c.CacheDuration != nil:
		cache = c.CacheDuration.Duration
	case c.Enabled:
		cache = defaultCRLCacheDuration
	}
	if c.RenewPeriod != nil && (c.CacheDuration != nil || c.Enabled) && c.RenewPeriod.Duration > cache {
		k.add("crl.renewPeriod", "%s is greater than crl.cacheDuration %s", c.RenewPeriod.Duration, cache)
	}
	if c.IDPURL != "" {
		if u, err := url.Parse(c.IDPURL); err != nil || u.Scheme == "" || u.Host == "" {
			k.add("crl.idpURL", "%q is not an absolute URL", c.IDPURL)
		}
	}
}
