package ca

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/db/badger"
	"github.com/mayfly-pki/mayfly/db/dbtest"
)

// manualTicker ticks when the test sends on ch.
type manualTicker struct{ ch chan time.Time }

func (m *manualTicker) C() <-chan time.Time { return m.ch }
func (m *manualTicker) Stop()               {}

// tickers hands out one manualTicker per interval.
type tickers struct {
	mu   sync.Mutex
	byD  map[time.Duration]*manualTicker
	made chan time.Duration
}

func newTickers() *tickers {
	return &tickers{byD: map[time.Duration]*manualTicker{}, made: make(chan time.Duration, 4)}
}

func (ts *tickers) New(d time.Duration) Ticker {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	t := &manualTicker{ch: make(chan time.Time)}
	ts.byD[d] = t
	ts.made <- d
	return t
}

func (ts *tickers) tick(t *testing.T, d time.Duration) {
	t.Helper()
	ts.mu.Lock()
	tk := ts.byD[d]
	ts.mu.Unlock()
	if tk == nil {
		t.Fatalf("no ticker of %s", d)
	}
	tk.ch <- time.Time{}
}

type run struct {
	kind string
	n    int
	err  error
}

type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestRetention(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := badger.Open(ctx, badger.Options{Dir: t.TempDir(), MemTableSize: 16 << 20})
	if err != nil {
		t.Fatalf("badger.Open: %v", err)
	}
	defer s.Close()
	now := time.Date(2031, 1, 10, 12, 0, 0, 0, time.UTC)
	f := dbtest.NewCertificates(t)
	// Serials 1-3 expired 10 days ago, 4 one day ago, 5 is valid.
	for i, na := range []time.Time{now.Add(-240 * time.Hour), now.Add(-240 * time.Hour), now.Add(-240 * time.Hour), now.Add(-24 * time.Hour), now.Add(time.Hour)} {
		if err := s.StoreCertificate(ctx, f.NewCertificate(t, dbtest.Serial(i+1), "cn", nil, "p", na)); err != nil {
			t.Fatalf("StoreCertificate: %v", err)
		}
	}
	var clockMu sync.Mutex
	clock := now
	ts := newTickers()
	runs := make(chan run, 10)
	logs := &lockedBuf{}
	logger := logrus.New()
	logger.Out = logs
	r := NewRetention(RetentionOptions{
		Inventory: s, Maintainer: s, Retention: 48 * time.Hour, Batch: 2,
		Now:       func() time.Time { clockMu.Lock(); defer clockMu.Unlock(); return clock },
		NewTicker: ts.New,
		Logger:    logger,
		Done:      func(kind string, n int, err error) { runs <- run{kind, n, err} },
	})
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()

	// At start: the three records expired 10 days ago go, in batches of 2.
	if got := <-runs; got.kind != "prune" || got.n != 3 || got.err != nil {
		t.Fatalf("first run = %+v, want prune of 3", got)
	}
	assertSerials(t, s, dbtest.Serial(4), dbtest.Serial(5))
	// Two days later, at the next hourly tick, the record expired a day ago
	// (now 3 days) goes too.
	clockMu.Lock()
	clock = clock.Add(48 * time.Hour)
	clockMu.Unlock()
	<-ts.made
	<-ts.made
	ts.tick(t, DefaultPruneInterval)
	if got := <-runs; got.kind != "prune" || got.n != 1 || got.err != nil {
		t.Fatalf("second run = %+v, want prune of 1", got)
	}
	assertSerials(t, s, dbtest.Serial(5))
	// Maintenance runs on its own ticker.
	ts.tick(t, DefaultMaintainInterval)
	if got := <-runs; got.kind != "maintain" || got.err != nil {
		t.Fatalf("maintenance run = %+v", got)
	}
	// Revocations are kept: the store's own suite checks DeleteExpired.
	cancel()
	<-done
	if l := logs.String(); !strings.Contains(l, "removed 3 expired certificate records") || !strings.Contains(l, "removed 1 expired certificate records") {
		t.Fatalf("log lacks the per-run lines:\n%s", l)
	}
}

func assertSerials(t *testing.T, s store.Inventory, want ...string) {
	t.Helper()
	page, _, err := s.ListCertificates(context.Background(), store.CertificateFilter{})
	if err != nil {
		t.Fatalf("ListCertificates: %v", err)
	}
	var got []string
	for _, c := range page {
		got = append(got, c.Serial)
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("records %v, want %v", got, want)
	}
}

func TestNewRetentionDisabled(t *testing.T) {
	t.Parallel()
	if r := NewRetention(RetentionOptions{}); r != nil {
		t.Fatalf("NewRetention(zero) = %v, want nil", r)
	}
	// Retention without a positive duration prunes nothing.
	if r := NewRetention(RetentionOptions{Inventory: nilInventory{}, Retention: 0}); r != nil {
		t.Fatalf("NewRetention(retention 0) = %v, want nil", r)
	}
	// A nil job's Run returns at once.
	var r *Retention
	r.Run(context.Background())
}

// nilInventory is an Inventory with nothing in it.
type nilInventory struct{}

func (nilInventory) ListCertificates(context.Context, store.CertificateFilter) ([]*store.CertificateInfo, string, error) {
	return nil, "", nil
}

func (nilInventory) DeleteExpired(context.Context, time.Time, int) (int, error) { return 0, nil }
