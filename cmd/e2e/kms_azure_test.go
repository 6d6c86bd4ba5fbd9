package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mayfly-pki/mayfly/kms/kmstest/azurekv"
)

// TestKMSAzure: keys created with step kms create in the Key Vault emulator
// (real azkeys client, client-secret credential), the root and intermediate
// made with step certificate create --kms, and ca.json configured as step-ca's
// documentation says (key URI with name, vault and version; kms block with
// client credentials in its uri).
func TestKMSAzure(t *testing.T) {
	t.Parallel()
	p := initPKI(t)
	srv := azurekv.Start(t)
	kmsURI := srv.KMSURI()
	op := p.op
	create := func(key string) string {
		r := op.ok(t, "kms", "create", "--json", "--kms", kmsURI, "azurekms:name="+key+";vault=example-vault-0")
		var out struct{ Name, PublicKey string }
		if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || !strings.Contains(out.Name, "?version=") || out.PublicKey == "" {
			t.Fatalf("step kms create --json printed %q (%v)", r.stdout, err)
		}
		return out.Name
	}
	rootKey, interKey := create("root-ca-key"), create("intermediate-ca-key")
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
		cfg["kms"] = map[string]any{"type": "azurekms", "uri": kmsURI}
	})
	p.root, p.fp = root, fingerprint(root)
	ca := launchCA(t, t, p.caPath, p.configPath())
	ca.waitLog(t, 0, "Serving HTTPS on")
	if strings.Contains(ca.log.tail(200), azurekv.Secret) {
		t.Fatal("step-ca logged the client secret")
	}
	u := p.client(t)
	before := time.Now()
	u.ok(t, "ca", "certificate", "azure.example.com", u.path("az.crt"), u.path("az.key"), "--provisioner-password-file", u.path("password.txt"))
	got := checkIssued(t, p, u.path("az.crt"), u.path("az.key"), "azure.example.com", 24*time.Hour, before, time.Now())
	if err := got.leaf.CheckSignatureFrom(inter); err != nil {
		t.Fatal(err)
	}
}
