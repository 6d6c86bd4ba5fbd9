package dbtest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/mayfly-pki/mayfly/authority/store"
)

// CommitMeter is a meter.Commits that records what a store reports.
type CommitMeter struct {
	mu       sync.Mutex
	commits  int
	writes   int
	backends map[string]bool
	negative bool
}

// Commit implements meter.Commits.
func (m *CommitMeter) Commit(backend string, elapsed time.Duration, batch int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.backends == nil {
		m.backends = map[string]bool{}
	}
	m.backends[backend] = true
	m.commits++
	m.writes += batch
	m.negative = m.negative || elapsed < 0 || batch < 1
}

func (m *CommitMeter) totals() (commits, writes int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.commits, m.writes
}

// CommitsAreMetered writes n certificates to s, opened with m as its meter,
// from n goroutines, and checks that m saw commits carrying exactly those n
// writes (at most n commits: group commit may batch them), all under the
// label backend. The report follows the answer, so it is awaited with a
// deadline.
func CommitsAreMetered(t *testing.T, s store.Store, m *CommitMeter, backend string) {
	t.Helper()
	const n = 16
	commits0, writes0 := m.totals()
	f := NewCertificates(t)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		c := f.New(t, fmt.Sprintf("%d", 7000+i))
		wg.Go(func() { errs <- s.StoreCertificate(context.Background(), c) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("StoreCertificate: %v", err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		commits, writes := m.totals()
		commits, writes = commits-commits0, writes-writes0
		if writes == n {
			if commits < 1 || commits > n {
				t.Fatalf("%d writes reported in %d commits", writes, commits)
			}
			break
		}
		if writes > n || time.Now().After(deadline) {
			t.Fatalf("the meter saw %d writes in %d commits, want %d writes", writes, commits, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.backends) != 1 || !m.backends[backend] || m.negative {
		t.Fatalf("backends %v (want %s), a negative duration or empty batch: %v", m.backends, backend, m.negative)
	}
}
