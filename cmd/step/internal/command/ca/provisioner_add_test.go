package ca

import (
	"bytes"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/urfave/cli/v2"

	"github.com/mayfly-pki/mayfly/authority/config"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/app"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/steptest"
	mjose "github.com/mayfly-pki/mayfly/internal/jose"
	"github.com/mayfly-pki/mayfly/internal/keyutil"
	"github.com/mayfly-pki/mayfly/internal/pemutil"
)

// provTestAdmin is a JWK provisioner entry as `step ca init` writes it
// (without encryptedKey, which these tests do not need).
const provTestAdmin = `{"type":"JWK","name":"admin","key":{"use":"sig","kty":"EC","kid":"q5Ytl5bwdAq2GVjrExT0nbkbvS0EqZrg5dldF0ohMjA","crv":"P-256","alg":"ES256","x":"SQBy2Q2R4qe9tCjiBTz7kDEt8i8dLNGq5USN6u2WpAQ","y":"nu0SpOTYNm5pLn5B5C8Y7zz5qHT_TkYV8OflVCbvbMk"}}`

// provTestClaims is the claims member of a provisioner created by the CLI
// without claims flags.
const provTestClaims = `"claims":{"enableSSHCA":true,"disableRenewal":false,"allowRenewalAfterExpiry":false,"disableSmallstepExtensions":false}`

const provTestOptions = `"options":{"x509":{},"ssh":{}}`

// provTestEnv points STEPPATH at a fresh directory holding config/ca.json
// (like `step ca init` writes it: tab indent, no trailing newline, mode 0644)
// with the given provisioner entries and extra authority members, clears the
// STEP_* variables of the provisioner commands and makes stdin /dev/null
// (not a terminal). It returns the ca.json path. Tests using it cannot run in
// parallel (environment, os.Stdin).
func provTestEnv(t *testing.T, authorityExtra string, provisioners ...string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "step")
	t.Setenv("STEPPATH", dir)
	t.Setenv("HOME", t.TempDir())
	for _, fs := range [][]cli.Flag{provisionerAddFlags(), provisionerUpdateFlags(), provisionerRemoveCommand().Flags} {
		for _, f := range fs {
			t.Setenv(app.EnvName(f.Names()[0]), "")
		}
	}
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	stdin := os.Stdin
	os.Stdin = devnull
	t.Cleanup(func() {
		os.Stdin = stdin
		_ = devnull.Close()
	})
	if err := os.MkdirAll(filepath.Join(dir, "config"), 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "config", "ca.json")
	provTestWriteConfig(t, path, authorityExtra, provisioners...)
	return path
}

// provTestWriteConfig writes a ca.json with the given authority members.
func provTestWriteConfig(t *testing.T, path, authorityExtra string, provisioners ...string) {
	t.Helper()
	doc := fmt.Sprintf(`{"root":"/x/certs/root_ca.crt","federatedRoots":null,"crt":"/x/certs/intermediate_ca.crt",
"key":"/x/secrets/intermediate_ca_key","address":"127.0.0.1:19443","insecureAddress":"","dnsNames":["localhost"],
"logger":{"format":"text"},"db":{"type":"badgerv2","dataSource":"/x/db","badgerFileLoadingMode":""},
"authority":{%s"provisioners":[%s]},
"tls":{"cipherSuites":["TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256","TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"],
"minVersion":1.2,"maxVersion":1.3,"renegotiation":false}}`, authorityExtra, strings.Join(provisioners, ","))
	var out bytes.Buffer
	if err := json.Indent(&out, []byte(doc), "", "\t"); err != nil {
		t.Fatalf("test ca.json: %v", err)
	}
	if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// provRun runs `step ca provisioner <args>` in-process.
func provRun(t *testing.T, args ...string) steptest.Result {
	t.Helper()
	return steptest.Run(t, func() []*cli.Command { return []*cli.Command{Command()} }, nil,
		append([]string{"ca", "provisioner"}, args...)...)
}

// provEntry returns the compact ca.json entry of provisioner name.
func provEntry(t *testing.T, path, name string) string {
	t.Helper()
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatalf("load %s: %v", path, err)
	}
	for _, raw := range cfg.Authority.Provisioners {
		if _, n, err := config.ProvisionerHeader(raw); err == nil && n == name {
			var b bytes.Buffer
			if err := json.Compact(&b, raw); err != nil {
				t.Fatal(err)
			}
			return b.String()
		}
	}
	t.Fatalf("provisioner %q not in %s", name, path)
	return ""
}

func provTestFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// provTestCACert returns the PEM of a self-signed certificate; ca makes it a
// CA allowed to sign certificates.
func provTestCACert(t *testing.T, cn string, ca bool) []byte {
	t.Helper()
	key, err := keyutil.Generate("EC", "P-256", 0)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Unix(1_700_000_000, 0), NotAfter: time.Unix(2_000_000_000, 0),
		KeyUsage: x509.KeyUsageDigitalSignature, BasicConstraintsValid: true,
	}
	if ca {
		tmpl.IsCA, tmpl.KeyUsage = true, x509.KeyUsageCertSign|x509.KeyUsageCRLSign
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// provTestPublicKeyPEM returns a new P-256 key and the PEM of its public key.
func provTestPublicKeyPEM(t *testing.T) (*jose.JSONWebKey, []byte) {
	t.Helper()
	key, err := keyutil.Generate("EC", "P-256", 0)
	if err != nil {
		t.Fatal(err)
	}
	jwk, err := mjose.NewSigningJWK(key)
	if err != nil {
		t.Fatal(err)
	}
	b, err := pemutil.MarshalPublicKey(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	return jwk, pem.EncodeToMemory(b)
}

func TestProvisionerAddJWKCreate(t *testing.T) {
	path := provTestEnv(t, "", provTestAdmin)
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	pw := provTestFile(t, "pw", []byte("dev-pass\n"))
	r := provRun(t, "add", "dev", "--password-file", pw, "--x509-max-dur", "48h", "--ssh-user-default-dur", "8h")
	if r.Code != 0 || r.Stderr != provisionerSuccess+"\n" {
		t.Fatalf("exit %d, stderr %q", r.Code, r.Stderr)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o640 {
		t.Fatalf("mode %v (%v), want 0640 kept", st.Mode().Perm(), err)
	}
	// step's rewrite: tab indent, trailing newline, load-time defaults.
	for _, want := range []string{"\n\t\"commonName\": \"Step Online CA\"\n}\n", "\t\t\"template\": {},\n\t\t\"backdate\": \"1m0s\"\n"} {
		if !strings.Contains(string(data), want) {
			t.Fatalf("rewritten ca.json lacks %q:\n%s", want, data)
		}
	}
	if got := provEntry(t, path, "admin"); got != provTestAdmin {
		t.Fatalf("existing provisioner changed:\n%s\nwant\n%s", got, provTestAdmin)
	}
	var e struct {
		Type, Name   string
		Key          *jose.JSONWebKey
		EncryptedKey string
	}
	entry := provEntry(t, path, "dev")
	if err := json.Unmarshal([]byte(entry), &e); err != nil || e.Type != "JWK" || e.Key == nil || !e.Key.IsPublic() {
		t.Fatalf("entry %s (%v)", entry, err)
	}
	wantTail := `"claims":{"maxTLSCertDuration":"48h0m0s","defaultUserSSHCertDuration":"8h0m0s","enableSSHCA":true,"disableRenewal":false,"allowRenewalAfterExpiry":false,"disableSmallstepExtensions":false},` + provTestOptions + `}`
	keyJSON, _ := json.Marshal(e.Key)
	wantEntry := `{"type":"JWK","name":"dev","key":` + string(keyJSON) + `,"encryptedKey":"` + e.EncryptedKey + `",` + wantTail
	if entry != wantEntry || !strings.HasPrefix(string(keyJSON), `{"use":"sig","kty":"EC","kid":"`) || !strings.Contains(string(keyJSON), `"crv":"P-256","alg":"ES256"`) {
		t.Fatalf("entry\n%s\nwant\n%s", entry, wantEntry)
	}
	priv, err := mjose.DecryptJWK(e.EncryptedKey, []byte("dev-pass"))
	if err != nil {
		t.Fatalf("encryptedKey does not open with the trimmed password: %v", err)
	}
	thumb, err := mjose.Thumbprint(e.Key)
	if err != nil || e.Key.KeyID != thumb || priv.KeyID != thumb || !keyutil.Equal(priv.Key, e.Key.Key) {
		t.Fatalf("kid %q, private kid %q, thumbprint %q (%v), keys equal %v", e.Key.KeyID, priv.KeyID, thumb, err, keyutil.Equal(priv.Key, e.Key.Key))
	}
}

func TestProvisionerAddJWKKeys(t *testing.T) {
	jwk, pubPEM := provTestPublicKeyPEM(t)
	pubJWK := jwk.Public()
	pubJWK.KeyID = "custom-kid"
	pubJWKJSON, _ := json.Marshal(pubJWK)
	otherJWK, _ := provTestPublicKeyPEM(t)
	privPEMBlock, err := pemutil.MarshalPrivateKey(jwk.Key, []byte("key-pass"))
	if err != nil {
		t.Fatal(err)
	}
	privPEM := pem.EncodeToMemory(privPEMBlock)
	jwe, err := mjose.EncryptJWK(jwk, []byte("key-pass"))
	if err != nil {
		t.Fatal(err)
	}
	thumb := jwk.KeyID
	pw := []byte("key-pass\n")
	tests := []struct {
		name      string
		args      func(t *testing.T) []string
		kid       string
		encrypted string // "": none, "decrypts": must open with key-pass, else exact
		wantErr   string
	}{
		{"public PEM", func(t *testing.T) []string { return []string{"--public-key", provTestFile(t, "k.pub", pubPEM)} }, thumb, "", ""},
		{"public JWK keeps its kid", func(t *testing.T) []string { return []string{"--public-key", provTestFile(t, "k.json", pubJWKJSON)} }, "custom-kid", "", ""},
		{"private PEM encrypted", func(t *testing.T) []string {
			return []string{"--private-key", provTestFile(t, "k.key", privPEM), "--password-file", provTestFile(t, "pw", pw)}
		}, thumb, "decrypts", ""},
		{"private JWE kept", func(t *testing.T) []string {
			return []string{"--private-key", provTestFile(t, "k.jwe", []byte(jwe+"\n")), "--password-file", provTestFile(t, "pw", pw)}
		}, thumb, jwe, ""},
		{"public and private", func(t *testing.T) []string {
			return []string{"--public-key", provTestFile(t, "k.json", pubJWKJSON), "--private-key", provTestFile(t, "k.key", privPEM), "--password-file", provTestFile(t, "pw", pw)}
		}, "custom-kid", "decrypts", ""},
		{"keys do not match", func(t *testing.T) []string {
			other, _ := json.Marshal(otherJWK.Public())
			return []string{"--public-key", provTestFile(t, "o.json", other), "--private-key", provTestFile(t, "k.key", privPEM), "--password-file", provTestFile(t, "pw", pw)}
		}, "", "", "do not match"},
		{"wrong password", func(t *testing.T) []string {
			return []string{"--private-key", provTestFile(t, "k.key", privPEM), "--password-file", provTestFile(t, "pw", []byte("nope"))}
		}, "", "", "error reading"},
		{"create with public key", func(t *testing.T) []string {
			return []string{"--create", "--public-key", provTestFile(t, "k.pub", pubPEM)}
		}, "", "", "incompatible"},
		{"no password", func(t *testing.T) []string { return []string{"--create"} }, "", "", "--password-file"},
		{"public key file missing", func(t *testing.T) []string { return []string{"--public-key", "/nonexistent/k.pub"} }, "", "", "/nonexistent/k.pub"},
		{"encrypted key as public", func(t *testing.T) []string { return []string{"--public-key", provTestFile(t, "k.jwe", []byte(jwe))} }, "", "", "use --private-key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := provTestEnv(t, "", provTestAdmin)
			before, _ := os.ReadFile(path)
			r := provRun(t, append([]string{"add", "dev"}, tt.args(t)...)...)
			if tt.wantErr != "" {
				after, _ := os.ReadFile(path)
				if r.Code != 1 || !strings.Contains(r.Stderr, tt.wantErr) || !bytes.Equal(before, after) {
					t.Fatalf("exit %d, stderr %q, file changed %v: want exit 1 with %q", r.Code, r.Stderr, !bytes.Equal(before, after), tt.wantErr)
				}
				return
			}
			if r.Code != 0 {
				t.Fatalf("exit %d: %s", r.Code, r.Stderr)
			}
			var e struct {
				Key          *jose.JSONWebKey
				EncryptedKey string
			}
			if err := json.Unmarshal([]byte(provEntry(t, path, "dev")), &e); err != nil {
				t.Fatal(err)
			}
			if e.Key.KeyID != tt.kid || !e.Key.IsPublic() || !keyutil.Equal(e.Key.Key, jwk.Key) || e.Key.Use != "sig" || e.Key.Algorithm != "ES256" {
				t.Fatalf("key %+v, want kid %q and the test key", e.Key, tt.kid)
			}
			switch tt.encrypted {
			case "":
				if e.EncryptedKey != "" {
					t.Fatalf("unexpected encryptedKey")
				}
			case "decrypts":
				priv, err := mjose.DecryptJWK(e.EncryptedKey, []byte("key-pass"))
				if err != nil || !keyutil.Equal(priv.Key, jwk.Key) || priv.KeyID != tt.kid {
					t.Fatalf("encryptedKey: %v, kid %q", err, priv.KeyID)
				}
			default:
				if e.EncryptedKey != tt.encrypted {
					t.Fatalf("encryptedKey %q, want the given JWE", e.EncryptedKey)
				}
			}
		})
	}
}

func TestProvisionerAddTypes(t *testing.T) {
	caPEM := provTestCACert(t, "X5C Root", true)
	nebulaPEM := pem.EncodeToMemory(&pem.Block{Type: "NEBULA CERTIFICATE", Bytes: []byte("not parsed by the CLI")})
	_, pubPEM := provTestPublicKeyPEM(t)
	b64 := base64.StdEncoding.EncodeToString
	tests := []struct {
		name string
		args func(t *testing.T) []string
		want string
	}{
		{"acme", func(*testing.T) []string {
			return []string{"acme2", "--type", "acme", "--force-cn", "--require-eab", "--challenge", "http-01", "--challenge", "DNS-01", "--challenge", "http-01",
				"--attestation-format", "apple", "--x509-min-dur", "10m", "--x509-max-dur", "48h", "--x509-default-dur", "12h"}
		}, `{"type":"ACME","name":"acme2","forceCN":true,"requireEAB":true,"challenges":["http-01","dns-01"],"attestationFormats":["apple"],` +
			`"claims":{"minTLSCertDuration":"10m0s","maxTLSCertDuration":"48h0m0s","defaultTLSCertDuration":"12h0m0s","enableSSHCA":true,"disableRenewal":false,"allowRenewalAfterExpiry":false,"disableSmallstepExtensions":false},` + provTestOptions + `}`},
		{"acme plain", func(*testing.T) []string { return []string{"acme", "--type", "ACME"} },
			`{"type":"ACME","name":"acme",` + provTestClaims + `,` + provTestOptions + `}`},
		{"x5c", func(t *testing.T) []string {
			return []string{"x5cp", "--type", "X5C", "--x5c-roots", provTestFile(t, "roots.pem", caPEM)}
		},
			`{"type":"X5C","name":"x5cp","roots":"` + b64(caPEM) + `",` + provTestClaims + `,` + provTestOptions + `}`},
		{"x5c with --x5c-root", func(t *testing.T) []string {
			return []string{"x5cp", "--type", "X5C", "--x5c-root", provTestFile(t, "roots.pem", caPEM)}
		},
			`{"type":"X5C","name":"x5cp","roots":"` + b64(caPEM) + `",` + provTestClaims + `,` + provTestOptions + `}`},
		{"k8ssa", func(t *testing.T) []string {
			return []string{"k8s", "--type", "k8sSA", "--public-key", provTestFile(t, "k.pub", pubPEM), "--disable-renewal"}
		}, `{"type":"K8SSA","name":"k8s","publicKeys":"` + b64(pubPEM) + `","claims":{"enableSSHCA":true,"disableRenewal":true,"allowRenewalAfterExpiry":false,"disableSmallstepExtensions":false},` + provTestOptions + `}`},
		{"nebula", func(t *testing.T) []string {
			return []string{"neb", "--type", "Nebula", "--nebula-root", provTestFile(t, "ca.crt", nebulaPEM)}
		}, `{"type":"NEBULA","name":"neb","roots":"` + b64(nebulaPEM) + `",` + provTestClaims + `,` + provTestOptions + `}`},
		{"sshpop", func(*testing.T) []string { return []string{"sshpop", "--type", "SSHPOP"} },
			`{"type":"SSHPOP","name":"sshpop",` + provTestClaims + `}`},
		{"aws", func(*testing.T) []string {
			return []string{"aws", "--type", "AWS", "--aws-account", "123456789012", "--disable-custom-sans", "--instance-age", "1h"}
		}, `{"type":"AWS","name":"aws","accounts":["123456789012"],"disableCustomSANs":true,"disableTrustOnFirstUse":false,"imdsVersions":["v2","v1"],"instanceAge":"1h0m0s",` + provTestClaims + `,` + provTestOptions + `}`},
		{"scep", func(*testing.T) []string {
			return []string{"scep", "--type", "SCEP", "--challenge", "secret123", "--encryption-algorithm-identifier", "2", "--ssh=false"}
		}, `{"type":"SCEP","name":"scep","challenge":"secret123","minimumPublicKeyLength":2048,"encryptionAlgorithmIdentifier":2,` + provTestOptions +
			`,"claims":{"enableSSHCA":false,"disableRenewal":false,"allowRenewalAfterExpiry":false,"disableSmallstepExtensions":false}}`},
		{"oidc", func(*testing.T) []string {
			return []string{"google", "--type", "OIDC", "--client-id", "cid", "--client-secret", "cs", "--configuration-endpoint",
				"https://accounts.google.com/.well-known/openid-configuration", "--domain", "example.com", "--admin", "a@example.com", "--scope", "openid"}
		}, `{"type":"OIDC","name":"google","clientID":"cid","clientSecret":"cs","configurationEndpoint":"https://accounts.google.com/.well-known/openid-configuration",` +
			`"admins":["a@example.com"],"domains":["example.com"],"scopes":["openid"],` + provTestClaims + `,` + provTestOptions + `}`},
		{"gcp", func(*testing.T) []string {
			return []string{"gcp", "--type", "gcp", "--gcp-project", "p1", "--disable-ssh-ca-host"}
		},
			`{"type":"GCP","name":"gcp","serviceAccounts":null,"projectIDs":["p1"],"disableCustomSANs":false,"disableTrustOnFirstUse":false,"disableSSHCAHost":true,"instanceAge":"0s",` + provTestClaims + `,` + provTestOptions + `}`},
		{"azure", func(*testing.T) []string {
			return []string{"az", "--type", "Azure", "--azure-tenant", "tid", "--azure-resource-group", "rg"}
		},
			`{"type":"AZURE","name":"az","tenantID":"tid","resourceGroups":["rg"],"disableCustomSANs":false,"disableTrustOnFirstUse":false,` + provTestClaims + `,` + provTestOptions + `}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := provTestEnv(t, "", provTestAdmin)
			args := tt.args(t)
			r := provRun(t, append([]string{"add"}, args...)...)
			if r.Code != 0 {
				t.Fatalf("exit %d: %s", r.Code, r.Stderr)
			}
			if got := provEntry(t, path, args[0]); got != tt.want {
				t.Fatalf("entry\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestProvisionerAddErrors(t *testing.T) {
	leafPEM := provTestCACert(t, "Not A CA", false)
	k8s := `{"type":"K8sSA","name":"k8s-old","publicKeys":"` + base64.StdEncoding.EncodeToString([]byte("x")) + `"}`
	tests := []struct {
		name    string
		extra   string   // authority members before "provisioners"
		raw     string   // whole file content instead of the generated one
		args    []string // "@FILE@" is replaced by a non-CA certificate file
		wantErr string
	}{
		{"duplicate", "", "", []string{"admin"}, "provisioner with name admin already exists\n"},
		{"bad type", "", "", []string{"x", "--type", "foo"}, "invalid value 'foo' for flag '--type'"},
		{"no name", "", "", []string{}, "not enough positional arguments"},
		{"enableAdmin without a CA URL", `"enableAdmin":true,`, "", []string{"x", "--type", "ACME"}, "flag '--ca-url' is required"},
		{"broken JSON", "", `{"authority": {`, []string{"x", "--type", "ACME"}, "ca.json"},
		{"invalid config", "", `{"root":"r","crt":"c","key":"k"}`, []string{"x", "--type", "ACME"}, "address: required"},
		{"missing ca.json", "", "@DELETE@", []string{"x", "--type", "ACME"}, "does not exist: use --ca-config or run `step ca init`"},
		{"second K8sSA", "", "", []string{"k8s", "--type", "K8SSA", "--public-key", "@PUB@"}, "at most one K8sSA provisioner"},
		{"claims max below default", "", "", []string{"x", "--type", "ACME", "--x509-max-dur", "1h"}, `provisioner "x": claims: defaultTLSCertDuration 24h0m0s is greater than maxTLSCertDuration 1h0m0s`},
		{"bad duration", "", "", []string{"x", "--type", "ACME", "--x509-max-dur", "soon"}, "invalid value 'soon' for flag '--x509-max-dur'"},
		{"bad challenge", "", "", []string{"x", "--type", "ACME", "--challenge", "smtp-01"}, "invalid value 'smtp-01' for flag '--challenge'"},
		{"x5c without roots", "", "", []string{"x", "--type", "X5C"}, "flag '--x5c-roots' is required"},
		{"x5c leaf root", "", "", []string{"x", "--type", "X5C", "--x5c-roots", "@FILE@"}, "cannot be used as an X5C root certificate"},
		{"oidc endpoint", "", "", []string{"x", "--type", "OIDC", "--client-id", "c", "--configuration-endpoint", "ftp://x"}, "--configuration-endpoint"},
		{"scep two challenges", "", "", []string{"x", "--type", "SCEP", "--challenge", "a", "--challenge", "b"}, "multiple '--challenge' flags"},
		{"sshpop template", "", "", []string{"x", "--type", "SSHPOP", "--x509-template", "@FILE@"}, "not supported by SSHPOP"},
		{"template data not JSON", "", "", []string{"x", "--type", "ACME", "--x509-template-data", "@FILE@"}, "not valid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := provTestEnv(t, tt.extra, provTestAdmin, k8s)
			switch tt.raw {
			case "":
			case "@DELETE@":
				if err := os.Remove(path); err != nil {
					t.Fatal(err)
				}
			default:
				if err := os.WriteFile(path, []byte(tt.raw), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			_, pubPEM := provTestPublicKeyPEM(t)
			file, pub := provTestFile(t, "leaf.crt", leafPEM), provTestFile(t, "k.pub", pubPEM)
			args := []string{"add"}
			for _, a := range tt.args {
				args = append(args, strings.NewReplacer("@FILE@", file, "@PUB@", pub).Replace(a))
			}
			before, _ := os.ReadFile(path)
			r := provRun(t, args...)
			after, _ := os.ReadFile(path)
			if r.Code != 1 || !strings.Contains(r.Stderr, tt.wantErr) {
				t.Fatalf("exit %d, stderr %q: want exit 1 with %q", r.Code, r.Stderr, tt.wantErr)
			}
			if !bytes.Equal(before, after) {
				t.Fatalf("ca.json changed despite the error")
			}
		})
	}
}

// A config that fails validation after the edit is reported with every
// problem, one per line, and the file stays as it was.
func TestProvisionerAddReportsEveryProblem(t *testing.T) {
	path := provTestEnv(t, "", provTestAdmin, `{"type":"K8sSA","name":"k1"}`)
	_, pubPEM := provTestPublicKeyPEM(t)
	// Only the edited config has the problem: a second K8sSA.
	r := provRun(t, "add", "k2", "--type", "K8SSA", "--public-key", provTestFile(t, "k.pub", pubPEM))
	want := "the new configuration is not valid; " + path + " was not changed:\n  authority.provisioners[2].type: at most one K8sSA provisioner is allowed (another is authority.provisioners[1])\n"
	if r.Code != 1 || r.Stderr != want {
		t.Fatalf("exit %d, stderr:\n%s\nwant:\n%s", r.Code, r.Stderr, want)
	}
}

// --ca-config names the file to edit; defaults.json's "ca-config" is used
// when the flag is absent.
func TestProvisionerAddCAConfigFlag(t *testing.T) {
	stepPath := filepath.Dir(filepath.Dir(provTestEnv(t, "", provTestAdmin)))
	other := filepath.Join(t.TempDir(), "other.json")
	provTestWriteConfig(t, other, "", provTestAdmin)
	if r := provRun(t, "add", "acme", "--type", "ACME", "--ca-config", other); r.Code != 0 {
		t.Fatalf("exit %d: %s", r.Code, r.Stderr)
	}
	if got := provEntry(t, other, "acme"); !strings.HasPrefix(got, `{"type":"ACME","name":"acme"`) {
		t.Fatalf("entry %s", got)
	}
	third := filepath.Join(t.TempDir(), "third.json")
	provTestWriteConfig(t, third, "", provTestAdmin)
	defaults := fmt.Sprintf(`{"ca-url":"https://localhost:19443","ca-config":%q}`, third)
	if err := os.WriteFile(filepath.Join(stepPath, "config", "defaults.json"), []byte(defaults), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := provRun(t, "add", "sshpop", "--type", "SSHPOP"); r.Code != 0 {
		t.Fatalf("exit %d: %s", r.Code, r.Stderr)
	}
	provEntry(t, third, "sshpop")
}
