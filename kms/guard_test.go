package kms

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mayfly-pki/mayfly/internal/errs"
)

// flakySigner is a real key whose Sign can be made to fail or to block.
type flakySigner struct {
	*ecdsa.PrivateKey
	mu    sync.Mutex
	fail  bool
	block chan struct{} // non-nil: Sign waits for it to close
}

func (f *flakySigner) Sign(r io.Reader, d []byte, o crypto.SignerOpts) ([]byte, error) {
	f.mu.Lock()
	fail, block := f.fail, f.block
	f.mu.Unlock()
	if block != nil {
		<-block
	}
	if fail {
		return nil, errors.New("CKR_DEVICE_REMOVED")
	}
	return f.PrivateKey.Sign(r, d, o)
}

func TestGuard(t *testing.T) {
	t.Parallel()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	fs := &flakySigner{PrivateKey: k}
	now := time.Unix(1000, 0)
	var clock sync.Mutex
	g := NewGuard(GuardOptions{Name: "pkcs11", Limit: 1, Wait: 50 * time.Millisecond, Backoff: time.Second,
		Now: func() time.Time { clock.Lock(); defer clock.Unlock(); return now }})
	s := g.Wrap(fs)
	if s.KeyManager() != "pkcs11" || !s.Public().(*ecdsa.PublicKey).Equal(k.Public()) {
		t.Fatal("wrapper lost the key or name")
	}
	digest := make([]byte, 32)
	if _, err := s.Sign(rand.Reader, digest, crypto.SHA256); err != nil || g.Health() != nil {
		t.Fatalf("healthy sign: %v / %v", err, g.Health())
	}

	// Down: 503 naming the key manager; health reports it; calls fail fast.
	fs.mu.Lock()
	fs.fail = true
	fs.mu.Unlock()
	_, err := s.Sign(rand.Reader, digest, crypto.SHA256)
	assertUnavailable(t, err, "key manager pkcs11")
	assertUnavailable(t, g.Health(), "pkcs11")
	fs.mu.Lock()
	fs.fail = false
	fs.mu.Unlock()
	_, err = s.Sign(rand.Reader, digest, crypto.SHA256)
	assertUnavailable(t, err, "pkcs11") // still in backoff: the KMS was not called

	// After the backoff the next call probes and the guard recovers.
	clock.Lock()
	now = now.Add(2 * time.Second)
	clock.Unlock()
	if _, err := s.Sign(rand.Reader, digest, crypto.SHA256); err != nil {
		t.Fatalf("no recovery: %v", err)
	}
	if err := g.Health(); err != nil {
		t.Fatalf("health after recovery: %v", err)
	}

	// Slow: a call that hangs holds the only slot; the next waits Wait and fails.
	block := make(chan struct{})
	fs.mu.Lock()
	fs.block = block
	fs.mu.Unlock()
	_, err = s.Sign(rand.Reader, digest, crypto.SHA256)
	assertUnavailable(t, err, "did not answer in time")
	_, err = s.Sign(rand.Reader, digest, crypto.SHA256)
	assertUnavailable(t, err, "pkcs11")
	fs.mu.Lock()
	fs.block = nil
	fs.mu.Unlock()
	close(block)
	clock.Lock()
	now = now.Add(2 * time.Second)
	clock.Unlock()
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := s.Sign(rand.Reader, digest, crypto.SHA256)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("guard did not recover after the slow call returned: %v", err)
		}
		clock.Lock()
		now = now.Add(2 * time.Second)
		clock.Unlock()
	}
}

func assertUnavailable(t *testing.T, err error, sub string) {
	t.Helper()
	e := errs.As(err)
	if e == nil || e.Kind != errs.Unavailable || !strings.Contains(err.Error(), sub) {
		t.Fatalf("want Unavailable containing %q, got %v", sub, err)
	}
}
