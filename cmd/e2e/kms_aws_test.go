package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
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

	// $ step kms create --json --kms 'awskms:region=us-east-2' root-ca
	awsKey := func(name string) bool { return strings.HasPrefix(name, "awskms:key-id=") }
	rootKey := kmsCreate(t, p, kmsURI, "root-ca", awsKey)
	interKey := kmsCreate(t, p, kmsURI, "intermediate-ca", awsKey)
	_, inter := startKMSCA(t, p, kmsURI, "awskms", rootKey, interKey)
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
