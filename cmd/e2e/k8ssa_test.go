package e2e

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// saToken signs payload as a cluster's API server signs a service account
// token (header alg and kid).
func saToken(t *testing.T, key crypto.Signer, alg jose.SignatureAlgorithm, payload map[string]any) string {
	t.Helper()
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, (&jose.SignerOptions{}).WithHeader("kid", "sa-key"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := s.Sign(b)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func pkixPEM(t *testing.T, pub crypto.PublicKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// TestK8sSA: a K8sSA provisioner added with `step ca provisioner add --type
// K8sSA --public-key` holding a cluster's RSA and EC service-account keys;
// `step ca certificate --provisioner k8s --k8ssa-token-path` sends the
// service account token a pod has as the one-time token and gets the
// request's names (step-ca's K8sSA default template is the request);
// `step ca token --k8ssa-token-path` prints it; a legacy secret token may be
// used again, a token with an expiry once; a token signed by another key is
// refused.
func TestK8sSA(t *testing.T) {
	t.Parallel()
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	otherKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p := initPKI(t)
	keys := append(pkixPEM(t, rsaKey.Public()), pkixPEM(t, ecKey.Public())...)
	keysFile := filepath.Join(t.TempDir(), "sa.pub")
	if err := os.WriteFile(keysFile, keys, 0o644); err != nil {
		t.Fatal(err)
	}
	p.op.ok(t, "ca", "provisioner", "add", "k8s", "--type", "K8sSA", "--public-key", keysFile)
	var cfg struct {
		Authority struct {
			Provisioners []map[string]any `json:"provisioners"`
		} `json:"authority"`
	}
	if err := json.Unmarshal(readFile(t, p.configPath()), &cfg); err != nil {
		t.Fatal(err)
	}
	var entry map[string]any
	for _, e := range cfg.Authority.Provisioners {
		if e["name"] == "k8s" {
			entry = e
		}
	}
	if entry == nil || entry["type"] != "K8SSA" || entry["publicKeys"] != base64.StdEncoding.EncodeToString(keys) {
		t.Fatalf("ca.json K8sSA entry = %v, want type K8SSA, publicKeys = base64 of the two PEM keys", entry)
	}
	p.start(t)
	u := p.client(t)

	legacy := map[string]any{
		"iss":                                    "kubernetes/serviceaccount",
		"kubernetes.io/serviceaccount/namespace": "default",
		"kubernetes.io/serviceaccount/secret.name":          "builder-token-x7k2p",
		"kubernetes.io/serviceaccount/service-account.name": "builder",
		"kubernetes.io/serviceaccount/service-account.uid":  "3b5e1f0c-8d7a-4f3e-9a51-0c2d6e7f8a9b",
		"sub": "system:serviceaccount:default:builder",
	}
	tokFile := u.path("token")
	tok := saToken(t, rsaKey, jose.RS256, legacy)
	if err := os.WriteFile(tokFile, []byte(tok), 0o600); err != nil {
		t.Fatal(err)
	}

	crt, key := u.path("svc.crt"), u.path("svc.key")
	r := u.ok(t, "ca", "certificate", "builder.default.svc", crt, key, "--provisioner", "k8s", "--k8ssa-token-path", tokFile)
	if !strings.Contains(r.stderr, "Provisioner: k8s (K8sSA)") {
		t.Fatalf("provisioner selected:\n%s", r.stderr)
	}
	svc := readCerts(t, crt)[0]
	if svc.Subject.CommonName != "builder.default.svc" || strings.Join(svc.DNSNames, ",") != "builder.default.svc" {
		t.Fatalf("subject %v, DNS names %v", svc.Subject, svc.DNSNames)
	}
	if ext := provisionerExtension(t, svc); ext.typ != 8 || ext.name != "k8s" {
		t.Fatalf("provisioner extension %+v, want K8sSA (8) k8s", ext)
	}

	// The same legacy token again (step-ca records no K8sSA token), with
	// --san; the flag after the positional arguments.
	u.ok(t, "ca", "certificate", "builder", u.path("b.crt"), u.path("b.key"), "--san", "builder.default.svc.cluster.local", "--san", "10.0.0.7",
		"--k8ssa-token-path", tokFile, "--provisioner", "k8s")
	b := readCerts(t, u.path("b.crt"))[0]
	if b.Subject.CommonName != "builder" || strings.Join(b.DNSNames, ",") != "builder.default.svc.cluster.local" || len(b.IPAddresses) != 1 {
		t.Fatalf("subject %v, DNS names %v, IPs %v", b.Subject, b.DNSNames, b.IPAddresses)
	}

	// step ca token prints the service account token as is.
	if out := strings.TrimSpace(u.ok(t, "ca", "token", "builder", "--provisioner", "k8s", "--k8ssa-token-path", tokFile).stdout); out != tok {
		t.Fatalf("ca token printed %q, want the service account token", out)
	}

	// A token with an expiry (EC key) is used once.
	withExp := map[string]any{}
	for k, v := range legacy {
		withExp[k] = v
	}
	withExp["exp"] = time.Now().Add(time.Hour).Unix()
	if err := os.WriteFile(tokFile, []byte(saToken(t, ecKey, jose.ES256, withExp)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	u.ok(t, "ca", "certificate", "a.example.com", u.path("a.crt"), u.path("a.key"), "--provisioner", "k8s", "--k8ssa-token-path", tokFile)
	r = u.fails(t, "ca", "certificate", "a.example.com", u.path("a2.crt"), u.path("a2.key"), "--provisioner", "k8s", "--k8ssa-token-path", tokFile)
	checkOneLine(t, r, "The request lacked necessary authorization to be completed.")
	mustNotExist(t, u.path("a2.crt"))

	// Signed by a key the provisioner does not hold: refused.
	if err := os.WriteFile(tokFile, []byte(saToken(t, otherKey, jose.RS256, legacy)), 0o600); err != nil {
		t.Fatal(err)
	}
	r = u.fails(t, "ca", "certificate", "x.example.com", u.path("x.crt"), u.path("x.key"), "--provisioner", "k8s", "--k8ssa-token-path", tokFile)
	checkOneLine(t, r, "The request lacked necessary authorization to be completed.")
	mustNotExist(t, u.path("x.crt"))

	// No token file.
	r = u.fails(t, "ca", "certificate", "x.example.com", u.path("x.crt"), u.path("x.key"), "--provisioner", "k8s", "--k8ssa-token-path", u.path("missing"))
	checkOneLine(t, r, "error reading kubernetes service account token")
}

// TestK8sSAConfig: a second K8sSA provisioner (step-ca allows one: its ID
// is constant) is reported by `step-ca --validate-config` with its path and
// stops step-ca at start; a K8sSA entry whose publicKeys holds no key is
// disabled at start with the reason, and the other provisioners serve.
func TestK8sSAConfig(t *testing.T) {
	t.Parallel()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pub := pkixPEM(t, key.Public())
	p := initPKI(t)
	orig := readFile(t, p.configPath())
	editConfig(t, p.configPath(), func(cfg map[string]any) {
		addProvisioner(cfg, map[string]any{"type": "K8sSA", "name": "k8s", "publicKeys": pub})
		addProvisioner(cfg, map[string]any{"type": "K8SSA", "name": "k8s-2", "publicKeys": pub})
	})
	const want = "authority.provisioners[2].type: at most one K8sSA provisioner is allowed (another is authority.provisioners[1])"
	r := p.op.stepCA(p.configPath(), "--validate-config")
	if r.code != 1 || len(r.errorLines()) != 1 || !strings.Contains(r.stderr, want) {
		t.Fatalf("--validate-config: want exit code 1 and %q:\n%s", want, r)
	}
	r = p.op.stepCA(p.configPath(), "--password-file", p.pwFile)
	if r.code != 1 || !strings.Contains(r.stderr, want) {
		t.Fatalf("start: want exit code 1 and %q:\n%s", want, r)
	}

	if err := os.WriteFile(p.configPath(), orig, 0o600); err != nil {
		t.Fatal(err)
	}
	editConfig(t, p.configPath(), func(cfg map[string]any) {
		addProvisioner(cfg, map[string]any{"type": "K8sSA", "name": "k8s", "publicKeys": []byte("not PEM")})
	})
	ca := p.start(t)
	line := ca.waitLog(t, 0, "failed to initialize K8sSA provisioner")
	if !strings.Contains(line, "no PEM public keys found") {
		t.Fatalf("the log line does not give the reason: %q", line)
	}
	u := p.client(t)
	u.ok(t, "ca", "certificate", "svc.example.com", "svc.crt", "svc.key",
		"--provisioner", "admin", "--provisioner-password-file", u.path("password.txt"))
}
