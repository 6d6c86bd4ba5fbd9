package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mayfly-pki/mayfly/kms/kmstest/localkms"
)

// TestKMSAWS follows the AWS KMS walkthrough of step-ca's documentation
// (seed 002) against local-kms on 127.0.0.1, then takes the KMS down: the
// CA answers 503 naming the key manager, /health reports it, and the CA
// signs again by itself once the KMS is back.
func TestKMSAWS(t *testing.T) {
	t.Parallel()
	p := initPKI(t)
	srv := localkms.Start(t)
	kmsURI := srv.KMSURI()
	op := p.op

	// $ step kms create --json --kms 'awskms:region=us-east-2' root-ca
	keyName := func(r result) string {
		var out struct{ Name, PublicKey string }
		if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || !strings.HasPrefix(out.Name, "awskms:key-id=") || out.PublicKey == "" {
			t.Fatalf("step kms create --json printed %q (%v)", r.stdout, err)
		}
		return out.Name
	}
	rootKey := keyName(op.ok(t, "kms", "create", "--json", "--kms", kmsURI, "root-ca"))
	interKey := keyName(op.ok(t, "kms", "create", "--json", "--kms", kmsURI, "intermediate-ca"))
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
		cfg["kms"] = map[string]any{"type": "awskms", "uri": kmsURI}
	})
	p.root, p.fp = root, fingerprint(root)
	ca := launchCA(t, t, p.caPath, p.configPath())
	ca.waitLog(t, 0, "Serving HTTPS on")
	u := p.client(t)
	pw := u.path("password.txt")
	issue := func(t *testing.T, cn string) result {
		return u.run("ca", "certificate", cn, u.path(cn+".crt"), u.path(cn+".key"), "--provisioner-password-file", pw, "-f")
	}

	t.Run("sign with the AWS KMS key", func(t *testing.T) {
		before := time.Now()
		if r := issue(t, "aws.example.com"); r.code != 0 {
			t.Fatalf("%s", r)
		}
		got := checkIssued(t, p, u.path("aws.example.com.crt"), u.path("aws.example.com.key"), "aws.example.com", 24*time.Hour, before, time.Now())
		if err := got.leaf.CheckSignatureFrom(inter); err != nil {
			t.Fatal(err)
		}
		if code, body := getHealth(t, p); code != 200 {
			t.Fatalf("/health = %d %s", code, body)
		}
	})

	t.Run("KMS down: 503 naming it, /health reports it", func(t *testing.T) {
		srv.Stop()
		r := issue(t, "down.example.com")
		if r.code == 0 || !strings.Contains(r.output(), "key manager awskms") {
			t.Fatalf("issuance with the KMS down: want a failure naming the key manager:\n%s", r)
		}
		code, body := getHealth(t, p)
		if code != http.StatusServiceUnavailable || !strings.Contains(body, "key manager awskms") {
			t.Fatalf("/health with the KMS down = %d %s", code, body)
		}
	})

	t.Run("KMS back: the CA recovers by itself", func(t *testing.T) {
		srv.Restart(t)
		deadline := time.Now().Add(logTimeout)
		for {
			r := issue(t, "back.example.com")
			if r.code == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the CA did not recover within %s of the KMS coming back:\n%s", logTimeout, r)
			}
			time.Sleep(200 * time.Millisecond) // the guard probes the KMS again after its backoff
		}
		if code, body := getHealth(t, p); code != 200 {
			t.Fatalf("/health after recovery = %d %s", code, body)
		}
	})
}

// getHealth GETs /health trusting p.root.
func getHealth(t *testing.T, p *testPKI) (int, string) {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AddCert(p.root)
	c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := c.Get(p.url + "/health")
	if err != nil {
		t.Fatalf("GET /health: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, string(b)
}
