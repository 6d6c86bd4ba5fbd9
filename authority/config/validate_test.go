package config

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mayfly-pki/mayfly/provisioner"
)

// validBase returns a minimal valid config, built in code.
func validBase() *Config {
	return &Config{
		Root:             MultiString{"/s/certs/root_ca.crt"},
		IntermediateCert: "/s/certs/intermediate_ca.crt",
		IntermediateKey:  "/s/secrets/intermediate_ca_key",
		Address:          "127.0.0.1:9000",
		DNSNames:         []string{"localhost"},
		Authority: &Authority{Provisioners: []json.RawMessage{
			json.RawMessage(`{"type":"JWK","name":"admin"}`),
		}},
	}
}

func dur(d time.Duration) *provisioner.Duration { return &provisioner.Duration{Duration: d} }

func TestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate func(*Config)
		path   string // "" means: must be valid
		msg    string // substring of the problem message
	}{
		{"base is valid", func(*Config) {}, "", ""},
		{"defaults applied is valid", func(c *Config) { c.Defaults() }, "", ""},
		{"address missing", func(c *Config) { c.Address = "" }, "address", "required"},
		{"address without port", func(c *Config) { c.Address = "localhost" }, "address", "missing port"},
		{"address empty port", func(c *Config) { c.Address = "localhost:" }, "address", "missing port"},
		{"address bad port", func(c *Config) { c.Address = ":99999" }, "address", "invalid port"},
		{"address bad host", func(c *Config) { c.Address = "bad host:443" }, "address", "invalid host"},
		{"address any host", func(c *Config) { c.Address = ":443" }, "", ""},
		{"address ipv6", func(c *Config) { c.Address = "[::1]:443" }, "", ""},
		{"insecureAddress bad", func(c *Config) { c.InsecureAddress = "80" }, "insecureAddress", "invalid host:port"},
		{"metricsAddress bad", func(c *Config) { c.MetricsAddress = "x" }, "metricsAddress", "invalid host:port"},
		{"root missing", func(c *Config) { c.Root = nil }, "root", "required"},
		{"root empty string", func(c *Config) { c.Root = MultiString{""} }, "root", "must not be empty"},
		{"root empty entry", func(c *Config) { c.Root = MultiString{"a", ""} }, "root[1]", "must not be empty"},
		{"crt missing", func(c *Config) { c.IntermediateCert = "" }, "crt", "required"},
		{"key missing", func(c *Config) { c.IntermediateKey = "" }, "key", "required"},
		{"softcas explicit", func(c *Config) { c.Authority.Type = "SoftCAS"; c.Root = nil }, "root", "required"},
		{"stepcas needs no root", func(c *Config) {
			c.Root, c.IntermediateCert, c.IntermediateKey = nil, "", ""
			c.Authority.Type = "stepcas"
			c.Authority.CertificateAuthority = "https://ca:9000"
			c.Authority.CertificateAuthorityFingerprint = "abc"
			c.Authority.CertificateIssuer = &CertificateIssuer{Type: "jwk", Provisioner: "ra"}
		}, "", ""},
		{"stepcas needs upstream", func(c *Config) {
			c.Authority.Type = "stepcas"
			c.Authority.CertificateAuthorityFingerprint = "abc"
			c.Authority.CertificateIssuer = &CertificateIssuer{Type: "jwk", Provisioner: "ra"}
		}, "authority.certificateAuthority", "required"},
		{"x5c issuer needs key", func(c *Config) {
			c.Authority.Type = "stepcas"
			c.Authority.CertificateAuthority = "https://ca:9000"
			c.Authority.CertificateAuthorityFingerprint = "abc"
			c.Authority.CertificateIssuer = &CertificateIssuer{Type: "x5c", Certificate: "c"}
		}, "authority.certificateIssuer.key", "required"},
		{"unknown cas", func(c *Config) { c.Authority.Type = "mycas" }, "authority.type", "mycas"},
		{"federated root empty", func(c *Config) { c.FederatedRoots = []string{""} }, "federatedRoots[0]", "must not be empty"},
		{"dnsNames explicit empty", func(c *Config) { c.DNSNames = []string{} }, "dnsNames", "must not be empty"},
		{"dnsNames absent is fine", func(c *Config) { c.DNSNames = nil }, "", ""},
		{"dnsNames ip and wildcard", func(c *Config) {
			c.DNSNames = []string{"::1", "10.1.2.3", "*.ca.example.com", "my_host.local", "ca.example.com."}
		}, "", ""},
		{"dnsNames bad", func(c *Config) { c.DNSNames = []string{"ok", "-bad.example.com"} }, "dnsNames[1]", "neither a DNS name nor an IP"},
		{"dnsNames bracketed ip", func(c *Config) { c.DNSNames = []string{"[::1]"} }, "dnsNames[0]", "neither"},
		{"tls unknown suite", func(c *Config) { c.TLS = &TLSOptions{CipherSuites: []string{"TLS_NOPE"}} }, "tls.cipherSuites[0]", "TLS_NOPE"},
		{"tls bad min", func(c *Config) { c.TLS = &TLSOptions{MinVersion: 1.4} }, "tls.minVersion", "unsupported TLS version 1.4"},
		{"tls bad max", func(c *Config) { c.TLS = &TLSOptions{MaxVersion: 2} }, "tls.maxVersion", "unsupported TLS version 2"},
		{"tls min above max", func(c *Config) { c.TLS = &TLSOptions{MinVersion: 1.3, MaxVersion: 1.2} }, "tls.minVersion", "greater than"},
		{"tls min above default max", func(c *Config) { c.TLS = &TLSOptions{MaxVersion: 1.1} }, "tls.minVersion", "1.2 is greater than tls.maxVersion 1.1"},
		{"tls 1.0 to 1.3", func(c *Config) { c.TLS = &TLSOptions{MinVersion: 1.0, MaxVersion: 1.3} }, "", ""},
		{"backdate negative", func(c *Config) { c.Authority.Backdate = dur(-time.Second) }, "authority.backdate", "negative"},
		{"backdate zero", func(c *Config) { c.Authority.Backdate = dur(0) }, "", ""},
		{"claims default above max", func(c *Config) {
			c.Authority.Claims = &provisioner.Claims{DefaultTLSDur: dur(48 * time.Hour)}
		}, "authority.claims.defaultTLSCertDuration", "defaultTLSCertDuration 48h0m0s is greater than maxTLSCertDuration 24h0m0s"},
		{"provisioner claims below the authority's", func(c *Config) {
			c.Authority.Claims = &provisioner.Claims{MaxTLSDur: dur(time.Hour), DefaultTLSDur: dur(time.Hour)}
			c.Authority.Provisioners = append(c.Authority.Provisioners, json.RawMessage(`{"type":"ACME","name":"acme","claims":{"minTLSCertDuration":"2h"}}`))
		}, "authority.provisioners[1].claims.minTLSCertDuration", `provisioner "acme": minTLSCertDuration 2h0m0s is greater than maxTLSCertDuration 1h0m0s`},
		{"provisioner ssh claims", func(c *Config) {
			c.Authority.Provisioners = append(c.Authority.Provisioners, json.RawMessage(`{"type":"ACME","name":"acme","claims":{"defaultHostSSHCertDuration":"1000h"}}`))
		}, "authority.provisioners[1].claims.defaultHostSSHCertDuration", `provisioner "acme": defaultHostSSHCertDuration 1000h0m0s is greater than maxHostSSHCertDuration 720h0m0s`},
		{"provisioner claims not an object", func(c *Config) {
			c.Authority.Provisioners = append(c.Authority.Provisioners, json.RawMessage(`{"type":"ACME","name":"acme","claims":{"enableSSHCA":"yes"}}`))
		}, "authority.provisioners[1].claims", `provisioner "acme": invalid claims`},
		{"provisioner policy", func(c *Config) {
			c.Authority.Provisioners = append(c.Authority.Provisioners, json.RawMessage(`{"type":"ACME","name":"acme","policy":{"x509":{"deny":{"ip":["10.0.0.0/40"]}}}}`))
		}, "authority.provisioners[1].policy.x509.deny.ip[0]", "10.0.0.0/40"},
		{"authority lint", func(c *Config) {
			c.Authority.Lint = &provisioner.LintOptions{Enabled: true, Lints: []string{"RFC5280", "e_sub_cert_aia_missing", "e_nope"}}
		}, "authority.lint.lints[2]", `unknown lint or lint source "e_nope"`},
		{"provisioner lint", func(c *Config) {
			c.Authority.Provisioners = append(c.Authority.Provisioners, json.RawMessage(`{"type":"ACME","name":"acme","lint":{"enabled":true,"lints":["CABF_XX"]}}`))
		}, "authority.provisioners[1].lint.lints[0]", `unknown lint or lint source "CABF_XX"`},
		{"provisioner ssh policy", func(c *Config) {
			c.Authority.Provisioners = append(c.Authority.Provisioners, json.RawMessage(`{"type":"ACME","name":"acme","policy":{"ssh":{"user":{"allow":{"email":["a@b@c"]}}}}}`))
		}, "authority.provisioners[1].policy.ssh.user.allow.email[0]", "more than one @"},
		{"claims wider max", func(c *Config) {
			c.Authority.Claims = &provisioner.Claims{MaxTLSDur: dur(48 * time.Hour), DefaultTLSDur: dur(36 * time.Hour)}
		}, "", ""},
		{"deploymentType", func(c *Config) { c.Authority.DeploymentType = "cloud" }, "authority.deploymentType", "cloud"},
		{"deploymentType linked", func(c *Config) { c.Authority.DeploymentType = "Linked" }, "", ""},
		{"provisioner not object", func(c *Config) { c.Authority.Provisioners = append(c.Authority.Provisioners, json.RawMessage(`[]`)) }, "authority.provisioners[1]", "expected an object"},
		{"provisioner empty type", func(c *Config) {
			c.Authority.Provisioners = append(c.Authority.Provisioners, json.RawMessage(`{"type":"","name":"b"}`))
		}, "authority.provisioners[1].type", "must not be empty"},
		{"provisioner name not string", func(c *Config) {
			c.Authority.Provisioners = append(c.Authority.Provisioners, json.RawMessage(`{"type":"JWK","name":5}`))
		}, "authority.provisioners[1].name", "expected a string"},
		{"provisioner duplicate name", func(c *Config) {
			c.Authority.Provisioners = append(c.Authority.Provisioners, json.RawMessage(`{"type":"OIDC","name":"admin"}`))
		}, "authority.provisioners[1].name", "duplicate"},
		{"provisioner names are case-sensitive", func(c *Config) {
			c.Authority.Provisioners = append(c.Authority.Provisioners, json.RawMessage(`{"type":"OIDC","name":"Admin"}`))
		}, "", ""},
		{"unknown provisioner type is fine", func(c *Config) {
			c.Authority.Provisioners = append(c.Authority.Provisioners, json.RawMessage(`{"type":"Future","name":"f"}`))
		}, "", ""},
		{"two k8ssa", func(c *Config) {
			c.Authority.Provisioners = append(c.Authority.Provisioners,
				json.RawMessage(`{"type":"K8sSA","name":"a"}`), json.RawMessage(`{"type":"K8SSA","name":"b"}`))
		}, "authority.provisioners[2].type", "at most one K8sSA"},
		{"policy dns ok", func(c *Config) {
			c.Authority.Policy = &Policy{X509: &X509Policy{Allow: &X509Names{DNSDomains: []string{"*.example.com", ".example.com", "example.com"}}}}
		}, "", ""},
		{"policy dns empty", func(c *Config) {
			c.Authority.Policy = &Policy{X509: &X509Policy{Deny: &X509Names{DNSDomains: []string{""}}}}
		}, "authority.policy.x509.deny.dns[0]", "must not be empty"},
		{"policy ip cidr", func(c *Config) {
			c.Authority.Policy = &Policy{X509: &X509Policy{Allow: &X509Names{IPRanges: []string{"10.0.0.0/33"}}}}
		}, "authority.policy.x509.allow.ip[0]", "neither an IP address nor a CIDR"},
		{"policy email wildcard", func(c *Config) {
			c.Authority.Policy = &Policy{X509: &X509Policy{Allow: &X509Names{Emails: []string{"*@example.com"}}}}
		}, "authority.policy.x509.allow.email[0]", "wildcards"},
		{"policy email empty domain", func(c *Config) {
			c.Authority.Policy = &Policy{X509: &X509Policy{Allow: &X509Names{Emails: []string{"user@"}}}}
		}, "authority.policy.x509.allow.email[0]", "invalid domain"},
		{"policy uri is a url", func(c *Config) {
			c.Authority.Policy = &Policy{X509: &X509Policy{Allow: &X509Names{URIDomains: []string{"https://example.com"}}}}
		}, "authority.policy.x509.allow.uri[0]", "not a URL"},
		{"policy email mailbox at subdomains", func(c *Config) {
			c.Authority.Policy = &Policy{X509: &X509Policy{Allow: &X509Names{Emails: []string{"jane@.example.com"}}}}
		}, "authority.policy.x509.allow.email[0]", "a mailbox rule names one host"},
		{"policy ip mapped range too short", func(c *Config) {
			c.Authority.Policy = &Policy{X509: &X509Policy{Deny: &X509Names{IPRanges: []string{"10.0.0.1", "::ffff:10.0.0.0/90"}}}}
		}, "authority.policy.x509.deny.ip[1]", "IPv4-mapped range"},
		{"policy cn empty", func(c *Config) {
			c.Authority.Policy = &Policy{X509: &X509Policy{Allow: &X509Names{CommonNames: []string{" "}}}}
		}, "authority.policy.x509.allow.cn[0]", "must not be empty"},
		{"policy ssh principal empty", func(c *Config) {
			c.Authority.Policy = &Policy{SSH: &SSHPolicy{User: &SSHPolicyRules{Allow: &SSHNames{Principals: []string{""}}}}}
		}, "authority.policy.ssh.user.allow.principal[0]", "must not be empty"},
		{"policy ssh host ip", func(c *Config) {
			c.Authority.Policy = &Policy{SSH: &SSHPolicy{Host: &SSHPolicyRules{Deny: &SSHNames{IPRanges: []string{"host"}}}}}
		}, "authority.policy.ssh.host.deny.ip[0]", "neither"},
		{"db type missing", func(c *Config) { c.DB = &DB{DataSource: "/db"} }, "db.type", "required"},
		{"db type case-insensitive", func(c *Config) { c.DB = &DB{Type: "BadgerV2", DataSource: "/db", BadgerFileLoadingMode: "FileIO"} }, "", ""},
		{"db datasource missing", func(c *Config) { c.DB = &DB{Type: "mysql", Database: "x"} }, "db.dataSource", "required"},
		{"db loading mode", func(c *Config) { c.DB = &DB{Type: "badger", DataSource: "/db", BadgerFileLoadingMode: "mmap"} }, "db.badgerFileLoadingMode", "mmap"},
		{"db retention zero", func(c *Config) { c.DB = &DB{Type: "badger", DataSource: "/db", Retention: dur(0)} }, "db.retention", "positive"},
		{"db retention negative", func(c *Config) { c.DB = &DB{Type: "badger", DataSource: "/db", Retention: dur(-time.Hour)} }, "db.retention", "-1h0m0s"},
		{"db retention ok", func(c *Config) { c.DB = &DB{Type: "badger", DataSource: "/db", Retention: dur(720 * time.Hour)} }, "", ""},
		{"logger format", func(c *Config) { c.Logger = &Logger{Format: "yaml"} }, "logger.format", "yaml"},
		{"logger common", func(c *Config) { c.Logger = &Logger{Format: "common"} }, "", ""},
		{"kms type", func(c *Config) { c.KMS = &KMS{Type: "vault"} }, "kms.type", "vault"},
		{"kms type ok", func(c *Config) { c.KMS = &KMS{Type: "YubiKey"} }, "", ""},
		{"crl renew above cache", func(c *Config) {
			c.CRL = &CRL{Enabled: true, CacheDuration: dur(time.Hour), RenewPeriod: dur(2 * time.Hour)}
		}, "crl.renewPeriod", "greater than"},
		{"crl renew above default cache", func(c *Config) { c.CRL = &CRL{Enabled: true, RenewPeriod: dur(25 * time.Hour)} }, "crl.renewPeriod", "24h0m0s"},
		{"crl negative cache", func(c *Config) { c.CRL = &CRL{CacheDuration: dur(-time.Hour)} }, "crl.cacheDuration", "negative"},
		{"crl idp url", func(c *Config) { c.CRL = &CRL{Enabled: true, IDPURL: "/crl"} }, "crl.idpURL", "absolute"},
		{"ssh key type", func(c *Config) {
			c.SSH = &SSH{Keys: []SSHPublicKey{{Type: "admin", Key: json.RawMessage(testPublicJWK)}}}
		}, "ssh.keys[0].type", "admin"},
		{"ssh key ok", func(c *Config) {
			c.SSH = &SSH{Keys: []SSHPublicKey{{Type: "host", Federated: true, Key: json.RawMessage(testPublicJWK)}}}
		}, "", ""},
		{"ssh key private", func(c *Config) {
			c.SSH = &SSH{Keys: []SSHPublicKey{{Type: "user", Key: json.RawMessage(testPrivateJWK)}}}
		}, "ssh.keys[0].key", "public key"},
		{"ssh key garbage", func(c *Config) {
			c.SSH = &SSH{Keys: []SSHPublicKey{{Type: "user", Key: json.RawMessage(`{"kty":"nope"}`)}}}
		}, "ssh.keys[0].key", "invalid JWK"},
		{"ssh bastion hostname", func(c *Config) { c.SSH = &SSH{Bastion: &Bastion{User: "u"}} }, "ssh.bastion.hostname", "required"},
		{"template directory with template", func(c *Config) {
			c.Templates = &Templates{SSH: &SSHTemplates{Host: []Template{{Name: "d", Type: "directory", TemplatePath: "t", Path: "p"}}}}
		}, "templates.ssh.host[0].template", "directory"},
		{"template missing path", func(c *Config) {
			c.Templates = &Templates{SSH: &SSHTemplates{User: []Template{{Name: "n", Type: "file", TemplatePath: "t"}}}}
		}, "templates.ssh.user[0].path", "required"},
		{"template missing name", func(c *Config) {
			c.Templates = &Templates{SSH: &SSHTemplates{User: []Template{{Type: "snippet", TemplatePath: "t", Path: "p"}}}}
		}, "templates.ssh.user[0].name", "required"},
		{"template data User", func(c *Config) { c.Templates = &Templates{Data: map[string]any{"User": "x"}} }, "templates.data.User", "reserved"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := validBase()
			tt.mutate(c)
			err := c.Validate()
			if tt.path == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Validate() = %v (%T), want *ValidationError", err, err)
			}
			if len(ve.Problems) != 1 {
				t.Fatalf("%d problems, want exactly 1: %v", len(ve.Problems), err)
			}
			p := ve.Problems[0]
			if p.Path != tt.path || !strings.Contains(p.Message, tt.msg) {
				t.Fatalf("problem %q, want path %q with %q", p, tt.path, tt.msg)
			}
		})
	}
}

const (
	testPublicJWK  = `{"kty":"EC","crv":"P-256","x":"-XIumG6lZwsMXmxIjBkEClMGsdnv7M6biVWjdqiN5eU","y":"2KGmLNQ8ELB6bgRLqwfOhGZrP9CGsNxJuteyDdgF_Ao"}`
	testPrivateJWK = `{"kty":"EC","crv":"P-256","x":"-XIumG6lZwsMXmxIjBkEClMGsdnv7M6biVWjdqiN5eU","y":"2KGmLNQ8ELB6bgRLqwfOhGZrP9CGsNxJuteyDdgF_Ao","d":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE"}`
)

func TestValidateDoesNotModify(t *testing.T) {
	t.Parallel()
	c := validBase()
	c.TLS = &TLSOptions{MinVersion: 1.3}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.TLS.MaxVersion != 0 || c.TLS.CipherSuites != nil || c.CommonName != "" || c.Authority.Backdate != nil {
		t.Fatalf("Validate modified the config: %+v", c.TLS)
	}
}

func TestValidationErrorFormat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  *ValidationError
		want string
	}{
		{&ValidationError{Problems: []Problem{{"address", "required"}}}, "ca.json: address: required"},
		{&ValidationError{File: "/p/ca.json", Problems: []Problem{{"", "expected an object, got an array"}}}, "/p/ca.json: expected an object, got an array"},
		{&ValidationError{File: "/p/ca.json", Problems: []Problem{{"address", "required"}, {"tls.minVersion", "bad"}, {"db.type", "x"}}},
			"/p/ca.json: 3 problems:\n  address: required\n  tls.minVersion: bad\n  db.type: x"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

// Secrets in the config never appear in validation messages.
func TestValidationMessagesHideSecrets(t *testing.T) {
	t.Parallel()
	c := validBase()
	c.Password = "hunter2-password"
	c.DB = &DB{Type: "nosuchdb", DataSource: "mysql://u:hunter2-dsn@tcp(h)/"}
	c.KMS = &KMS{Type: "nosuchkms", URI: "pkcs11:?pin-value=hunter2-pin", Pin: "hunter2-pin"}
	c.SSH = &SSH{Keys: []SSHPublicKey{{Type: "user", Key: json.RawMessage(testPrivateJWK)}}}
	err := c.Validate()
	if err == nil {
		t.Fatal("Validate() = nil")
	}
	for _, secret := range []string{"hunter2", "AAAAAAAAAAAAAAAA"} {
		if strings.Contains(err.Error(), secret) {
			t.Fatalf("message leaks %q: %v", secret, err)
		}
	}
}
