package e2e

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"syscall"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/mayfly-pki/mayfly/api/wire"
	"github.com/mayfly-pki/mayfly/authority/config"
	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/db/badger"
	mjose "github.com/mayfly-pki/mayfly/internal/jose"
	"github.com/mayfly-pki/mayfly/provisioner/token"
)

// signer mints tokens with the admin provisioner's key and posts /sign, as a
// load generator would; it records what the clients received.
type signer struct {
	p      *testPKI
	key    *jose.JSONWebKey
	client *http.Client
	csr    string

	mu       sync.Mutex
	received map[string]string // serial → used_ott key of the token, for certificates fully received
	failures []string
}

func newSigner(t *testing.T, p *testPKI) *signer {
	t.Helper()
	cfg, err := config.Load(p.configPath())
	if err != nil {
		t.Fatal(err)
	}
	var prov struct {
		EncryptedKey string `json:"encryptedKey"`
	}
	if err := json.Unmarshal(cfg.Authority.Provisioners[0], &prov); err != nil {
		t.Fatal(err)
	}
	key, err := mjose.DecryptJWK(prov.EncryptedKey, []byte(password))
	if err != nil {
		t.Fatal(err)
	}
	leafKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: "load.example.com"}, DNSNames: []string{"load.example.com"},
	}, leafKey)
	if err != nil {
		t.Fatal(err)
	}
	return &signer{
		p: p, key: key, client: httpsClient(p), received: map[string]string{},
		csr: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})),
	}
}

// signOnce mints a token, posts /sign and records the serial once the whole
// response has been read. It returns false when the request failed.
func (s *signer) signOnce() bool {
	jti, _ := token.NewID()
	now := time.Now()
	tok, err := token.Sign(s.key, &token.Claims{
		Audience: token.Audience{s.p.url + "/1.0/sign"}, Issuer: "admin", Subject: "load.example.com", ID: jti,
		SANs: []string{"load.example.com"}, SHA: s.p.fp, IssuedAt: token.NewNumericDate(now),
		NotBefore: token.NewNumericDate(now), Expiry: token.NewNumericDate(now.Add(5 * time.Minute)),
	}, nil)
	if err != nil {
		s.fail(err.Error())
		return false
	}
	body, _ := json.Marshal(wire.SignRequest{CSR: s.csr, OTT: tok})
	resp, err := s.client.Post(s.p.url+"/1.0/sign", "application/json", bytes.NewReader(body))
	if err != nil {
		s.fail(err.Error())
		return false
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusCreated {
		s.fail(fmt.Sprintf("status %d: %s %v", resp.StatusCode, data, err))
		return false
	}
	var sr wire.SignResponse
	if err := json.Unmarshal(data, &sr); err != nil {
		s.fail(err.Error())
		return false
	}
	block, _ := pem.Decode([]byte(sr.Certificate))
	if block == nil {
		s.fail("no certificate in the response")
		return false
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		s.fail(err.Error())
		return false
	}
	parsed, err := token.Parse(tok)
	if err != nil {
		s.fail(err.Error())
		return false
	}
	s.mu.Lock()
	s.received[c.SerialNumber.String()] = parsed.ReuseKey()
	s.mu.Unlock()
	return true
}

func (s *signer) fail(msg string) {
	s.mu.Lock()
	s.failures = append(s.failures, msg)
	s.mu.Unlock()
}

// run signs with workers until stop is closed.
func (s *signer) run(workers int, stop <-chan struct{}) *sync.WaitGroup {
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				s.signOnce()
			}
		}()
	}
	return &wg
}

// failureList returns up to the first 5 failures.
func (s *signer) failureList() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.failures[:min(5, len(s.failures))]...)
}

func (s *signer) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.received)
}

// waitCount waits until the clients have received n certificates; it fails t
// after logTimeout (the load must make progress, however slowly).
func (s *signer) waitCount(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(logTimeout)
	for s.count() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d certificates received within %s; failures: %v", s.count(), n, logTimeout, s.failureList())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestKill9KeepsIssuedCertificates: kill -9 of step-ca during load loses no
// record of a certificate a client received, nor the use of its token
// (issue 7: a certificate is answered only after its record is durable).
func TestKill9KeepsIssuedCertificates(t *testing.T) {
	t.Parallel()
	p := initPKI(t)
	ca := p.start(t)
	s := newSigner(t, p)
	stop := make(chan struct{})
	wg := s.run(16, stop)
	s.waitCount(t, 300)
	if err := ca.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-ca.exited
	close(stop)
	wg.Wait()
	received := s.count()
	if received < 100 {
		t.Fatalf("only %d certificates issued before the kill; failures: %v", received, s.failures)
	}
	st, err := badger.Open(context.Background(), badger.Options{Dir: p.caPath + "/db"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	for serial, key := range s.received {
		if _, err := st.GetCertificate(ctx, serial); err != nil {
			t.Fatalf("certificate %s was received by a client but is not in the database after kill -9: %v", serial, err)
		}
		if err := st.UseToken(ctx, key, []byte("x")); !errors.Is(err, store.ErrTokenUsed) {
			t.Fatalf("token %s of certificate %s is not recorded as used after kill -9: %v", key, serial, err)
		}
	}
	t.Logf("%d certificates received before kill -9, all durable", received)
}

// TestReloadUnderLoad: SIGHUP while requests are in flight fails none of them
// and the new configuration is served (issue 5).
func TestReloadUnderLoad(t *testing.T) {
	t.Parallel()
	p := initPKI(t)
	ca := p.start(t)
	s := newSigner(t, p)
	stop := make(chan struct{})
	wg := s.run(8, stop)
	for i, d := range []string{"30h", "36h", "48h"} {
		s.waitCount(t, 50*(i+1))
		setMaxTLSCertDuration(t, p.configPath(), d)
		mark := ca.log.mark()
		ca.signal(t, syscall.SIGHUP)
		ca.waitLog(t, mark, "reloaded")
	}
	s.waitCount(t, s.count()+50)
	close(stop)
	wg.Wait()
	if len(s.failures) > 0 {
		t.Fatalf("%d of %d requests failed across 3 reloads; first: %s", len(s.failures), s.count()+len(s.failures), s.failures[0])
	}
	// The last configuration is in force.
	u := p.client(t)
	u.ok(t, "ca", "certificate", "long.example.com", u.path("long.crt"), u.path("long.key"),
		"--provisioner-password-file", u.path("password.txt"), "--not-after", "47h")
	t.Logf("%d certificates issued across 3 reloads, none failed", s.count())
}
