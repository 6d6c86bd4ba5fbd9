package ca

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func leafFor(notBefore time.Time, life time.Duration) *x509.Certificate {
	return &x509.Certificate{NotBefore: notBefore, NotAfter: notBefore.Add(life)}
}

func TestNextRenewDuration(t *testing.T) {
	t.Parallel()
	nb := time.Date(2026, 11, 22, 18, 0, 0, 0, time.UTC)
	// A 6m certificate backdated 1m: a 7m period, observed first renewal 3m28s.
	leaf := leafFor(nb, 7*time.Minute)
	now := nb.Add(time.Minute)
	zero := func(int64) int64 { return 0 }
	maxRnd := func(n int64) int64 { return n - 1 }
	tests := []struct {
		name string
		opts daemonOptions
		now  time.Time
		rnd  func(int64) int64
		min  time.Duration
		max  time.Duration
	}{
		{"two thirds, no jitter", daemonOptions{}, now, zero, 3*time.Minute + 40*time.Second, 3*time.Minute + 40*time.Second},
		{"two thirds, max jitter", daemonOptions{}, now, maxRnd, 3*time.Minute + 19*time.Second, 3*time.Minute + 20*time.Second},
		{"expires-in", daemonOptions{expiresIn: 5 * time.Minute}, now, zero, time.Minute, time.Minute},
		{"past due", daemonOptions{}, nb.Add(6 * time.Minute), maxRnd, 0, 0},
		{"within the last 1/20", daemonOptions{}, nb.Add(4*time.Minute + 30*time.Second), maxRnd, 0, 10 * time.Second},
		{"renew-period", daemonOptions{period: 2 * time.Minute}, now, zero, 2 * time.Minute, 2 * time.Minute},
		{"renew-period past expiry", daemonOptions{period: 10 * time.Minute}, now, zero, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := nextRenewDuration(leaf, &tc.opts, tc.now, tc.rnd)
			if got < tc.min || got > tc.max {
				t.Fatalf("nextRenewDuration = %s, want within [%s, %s]", got, tc.min, tc.max)
			}
		})
	}
}

// syncBuffer is a bytes.Buffer safe for the daemon's loggers and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestDaemonLoop(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	marker := filepath.Join(dir, "hook-ran")
	leaf := leafFor(time.Now().Add(-time.Minute), time.Hour)
	leaf.Subject.CommonName = "svc.example.com"
	calls := make(chan int, 10)
	n := 0
	renewFn := func(context.Context) (*x509.Certificate, error) {
		n++
		calls <- n
		if n == 2 {
			return nil, errors.New("the CA is down")
		}
		return leaf, nil
	}
	var out, errOut syncBuffer
	sigs := make(chan os.Signal, 1)
	d := newDaemon(&daemonOptions{exec: []string{"touch", marker}, signal: syscall.SIGHUP}, renewFn, &out, &errOut)
	d.signals, d.retry, d.maxNap = sigs, 20*time.Millisecond, 5*time.Millisecond
	done := make(chan error, 1)
	go func() { done <- d.run(context.Background(), leaf) }()

	// SIGHUP renews now (call 1); a second SIGHUP renews again (call 2), which
	// fails and is retried after d.retry (call 3).
	for want := 1; want <= 3; want++ {
		if want < 3 {
			sigs <- syscall.SIGHUP
		}
		select {
		case got := <-calls:
			if got != want {
				t.Fatalf("renewal call %d, want %d", got, want)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("renewal %d did not happen; stdout %q stderr %q", want, out.String(), errOut.String())
		}
	}
	sigs <- syscall.SIGTERM
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run returned %v, want nil on SIGTERM", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("daemon did not stop on SIGTERM")
	}
	if !strings.Contains(out.String(), "INFO: ") || !strings.Contains(out.String(), "first renewal in") ||
		!strings.Contains(out.String(), "svc.example.com certificate renewed, next in") {
		t.Fatalf("stdout %q lacks step's INFO lines", out.String())
	}
	if !strings.Contains(errOut.String(), "ERROR: ") || !strings.Contains(errOut.String(), "the CA is down") {
		t.Fatalf("stderr %q lacks the ERROR line", errOut.String())
	}
	if _, err := os.Stat(marker); err != nil {
		t.Fatalf("--exec hook did not run: %v", err)
	}
}
