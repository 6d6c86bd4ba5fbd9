package e2e

import (
	"crypto/x509"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// kmsCreate runs `step kms create --json --kms kmsURI key` as p's operator
// and returns the key name it printed, which must pass want.
func kmsCreate(t *testing.T, p *testPKI, kmsURI, key string, want func(name string) bool) string {
	t.Helper()
	r := p.op.ok(t, "kms", "create", "--json", "--kms", kmsURI, key)
	var out struct{ Name, PublicKey string }
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || !want(out.Name) || out.PublicKey == "" {
		t.Fatalf("step kms create --json printed %q (%v)", r.stdout, err)
	}
	return out.Name
}

// startKMSCA makes p's root and intermediate with `step certificate create
// --kms` on the KMS keys rootKey and interKey (the intermediate signed by the
// root through --ca-kms), installs them in p's CA, points ca.json's key and
// kms block (type kmsType) at the KMS, and starts the CA. It returns the CA
// once it serves, and the intermediate.
func startKMSCA(t *testing.T, p *testPKI, kmsURI, kmsType, rootKey, interKey string) (*caProcess, *x509.Certificate) {
	t.Helper()
	op := p.op
	op.ok(t, "certificate", "create", "--profile", "root-ca", "--kms", kmsURI, "--key", rootKey, "Smallstep Root CA", "root_ca.crt")
	op.ok(t, "certificate", "create", "--profile", "intermediate-ca", "--kms", kmsURI, "--ca-kms", kmsURI,
		"--ca", "root_ca.crt", "--ca-key", rootKey, "--key", interKey, "Smallstep Intermediate CA", "intermediate_ca.crt")
	root := readCerts(t, op.path("root_ca.crt"))[0]
	inter := readCerts(t, op.path("intermediate_ca.crt"))[0]
	if err := inter.CheckSignatureFrom(root); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"root_ca.crt", "intermediate_ca.crt"} {
		if err := os.WriteFile(filepath.Join(p.caPath, "certs", f), readFile(t, op.path(f)), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	editConfig(t, p.configPath(), func(cfg map[string]any) {
		cfg["key"] = interKey
		cfg["kms"] = map[string]any{"type": kmsType, "uri": kmsURI}
	})
	p.root, p.fp = root, fingerprint(root)
	ca := launchCA(t, t, p.caPath, p.configPath())
	ca.waitLog(t, 0, "Serving HTTPS on")
	return ca, inter
}
