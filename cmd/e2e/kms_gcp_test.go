package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mayfly-pki/mayfly/kms/kmstest/gcpkms"
)

// TestKMSCloudKMS follows the Cloud KMS walkthrough of step-ca's
// documentation (seed 002) with the real gRPC client against the emulator
// on 127.0.0.1: bare resource names in --key, --ca-key and ca.json's key.
func TestKMSCloudKMS(t *testing.T) {
	t.Parallel()
	p := initPKI(t)
	srv := gcpkms.Start(t)
	kmsURI := srv.KMSURI()
	op := p.op
	const ring = "projects/smallstep/locations/global/keyRings/step-ca/cryptoKeys/"
	create := func(key string) string {
		r := op.ok(t, "kms", "create", "--json", "--kms", kmsURI, ring+key)
		var out struct{ Name, PublicKey string }
		if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || out.Name != ring+key+"/cryptoKeyVersions/1" || out.PublicKey == "" {
			t.Fatalf("step kms create --json printed %q (%v)", r.stdout, err)
		}
		return out.Name
	}
	rootKey, interKey := create("root"), create("intermediate")
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
		cfg["kms"] = map[string]any{"type": "cloudkms", "uri": kmsURI}
	})
	p.root, p.fp = root, fingerprint(root)
	ca := launchCA(t, t, p.caPath, p.configPath())
	ca.waitLog(t, 0, "Serving HTTPS on")
	u := p.client(t)
	before := time.Now()
	u.ok(t, "ca", "certificate", "gcp.example.com", u.path("gcp.crt"), u.path("gcp.key"), "--provisioner-password-file", u.path("password.txt"))
	got := checkIssued(t, p, u.path("gcp.crt"), u.path("gcp.key"), "gcp.example.com", 24*time.Hour, before, time.Now())
	if err := got.leaf.CheckSignatureFrom(inter); err != nil {
		t.Fatal(err)
	}
	before = time.Now()
	u.ok(t, "ca", "renew", u.path("gcp.crt"), u.path("gcp.key"), "--force")
	checkIssued(t, p, u.path("gcp.crt"), u.path("gcp.key"), "gcp.example.com", 24*time.Hour, before, time.Now())
}
