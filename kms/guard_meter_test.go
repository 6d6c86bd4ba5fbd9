package kms

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// kmsCalls records meter.KMS reports.
type kmsCalls struct {
	mu    sync.Mutex
	calls []string
}

func (m *kmsCalls) KMSCall(backend, op string, elapsed time.Duration, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls = append(m.calls, fmt.Sprintf("%s/%s/%s/%t", backend, op, elapsed, err != nil))
}

// TestGuardMeters: every signature that reaches the key manager is reported
// with the backend, the op and the latency measured on the guard's clock;
// calls refused during the backoff never reach it and are not reported.
func TestGuardMeters(t *testing.T) {
	t.Parallel()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	fs := &flakySigner{PrivateKey: k}
	var mu sync.Mutex
	now := time.Unix(1000, 0)
	clock := func() time.Time { // every reading advances 5ms
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(5 * time.Millisecond)
		return now
	}
	m := &kmsCalls{}
	s := NewGuard(GuardOptions{Name: "pkcs11", Backoff: time.Hour, Now: clock, Meter: m}).Wrap(fs)
	digest := make([]byte, 32)
	if _, err := s.Sign(rand.Reader, digest, crypto.SHA256); err != nil {
		t.Fatal(err)
	}
	fs.mu.Lock()
	fs.fail = true
	fs.mu.Unlock()
	for range 2 { // the second is refused by the backoff
		if _, err := s.Sign(rand.Reader, digest, crypto.SHA256); err == nil {
			t.Fatal("a failing key manager signed")
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if want := []string{"pkcs11/sign/5ms/false", "pkcs11/sign/5ms/true"}; !slices.Equal(m.calls, want) {
		t.Fatalf("reported %v, want %v", m.calls, want)
	}
}
