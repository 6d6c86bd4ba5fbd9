package kms

import (
	"crypto"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/internal/meter"
)

// GuardOptions bound the calls made to one key manager.
type GuardOptions struct {
	// Name names the key manager in errors and /health ("pkcs11").
	Name string
	// Limit is the most signatures in flight at once (default 64).
	Limit int
	// Wait is how long a signature waits for a free slot before it fails
	// with errs.Unavailable (default 2s). A call that hangs keeps its slot
	// until it returns, so a stuck KMS costs at most Limit goroutines.
	Wait time.Duration
	// Backoff is how long after a failure calls fail at once without
	// reaching the KMS; the first call after it probes again (default 1s).
	Backoff time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Meter receives every call that reaches the key manager, with its
	// backend (Name), op ("sign") and latency (default: none).
	Meter meter.KMS
}

// Guard limits and watches the signatures made through one key manager:
// at most Limit at once, a bounded wait for a slot, fail fast for Backoff
// after a failure, and recovery on the first success. Safe for concurrent
// use.
type Guard struct {
	o   GuardOptions
	sem chan struct{}

	mu       sync.Mutex
	lastErr  error     // nil when the last call succeeded
	failedAt time.Time // when lastErr happened
}

// NewGuard returns a guard with o's defaults filled in.
func NewGuard(o GuardOptions) *Guard {
	if o.Limit <= 0 {
		o.Limit = 64
	}
	if o.Wait <= 0 {
		o.Wait = 2 * time.Second
	}
	if o.Backoff <= 0 {
		o.Backoff = time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Name == "" {
		o.Name = "kms"
	}
	if o.Meter == nil {
		o.Meter = meter.Nop{}
	}
	return &Guard{o: o, sem: make(chan struct{}, o.Limit)}
}

// Health returns nil when the last signature succeeded (or none was made),
// else an errs.Unavailable naming the key manager.
func (g *Guard) Health() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.lastErr == nil {
		return nil
	}
	return errs.Exact(errs.Unavailable, fmt.Sprintf("key manager %s is unavailable", g.o.Name), g.lastErr)
}

func (g *Guard) record(err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.lastErr = err
	if err != nil {
		g.failedAt = g.o.Now()
	}
}

// blocked returns the error to fail with while in backoff, or nil.
func (g *Guard) blocked() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.lastErr != nil && g.o.Now().Sub(g.failedAt) < g.o.Backoff {
		return errs.Exact(errs.Unavailable, fmt.Sprintf("key manager %s is unavailable", g.o.Name), g.lastErr)
	}
	return nil
}

// Wrap returns s guarded. The result is External: the issuer verifies its
// signatures.
func (g *Guard) Wrap(s crypto.Signer) External {
	return &guarded{g: g, s: s}
}

type guarded struct {
	g *Guard
	s crypto.Signer
}

func (s *guarded) Public() crypto.PublicKey { return s.s.Public() }
func (s *guarded) KeyManager() string       { return s.g.o.Name }

// ErrBusy is the cause when no slot freed within Wait.
var ErrBusy = errors.New("too many signatures in flight")

func (s *guarded) Sign(rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	g := s.g
	if err := g.blocked(); err != nil {
		return nil, err
	}
	select {
	case g.sem <- struct{}{}:
	default:
		t := time.NewTimer(g.o.Wait)
		select {
		case g.sem <- struct{}{}:
			t.Stop()
		case <-t.C:
			return nil, errs.Exact(errs.Unavailable, fmt.Sprintf("key manager %s did not answer in time", g.o.Name), ErrBusy)
		}
	}
	type result struct {
		sig []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		defer func() { <-g.sem }()
		start := g.o.Now()
		sig, err := s.s.Sign(rand, digest, opts)
		// Metered when the call returns, also after the caller gave up.
		g.o.Meter.KMSCall(g.o.Name, "sign", g.o.Now().Sub(start), err)
		g.record(err)
		done <- result{sig, err}
	}()
	t := time.NewTimer(g.o.Wait)
	defer t.Stop()
	select {
	case r := <-done:
		if r.err != nil {
			return nil, errs.Exact(errs.Unavailable, fmt.Sprintf("key manager %s failed to sign", g.o.Name), r.err)
		}
		return r.sig, nil
	case <-t.C:
		err := fmt.Errorf("no signature within %s", g.o.Wait)
		g.record(err)
		return nil, errs.Exact(errs.Unavailable, fmt.Sprintf("key manager %s did not answer in time", g.o.Name), err)
	}
}
