package dbtest

import (
	"context"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/mayfly-pki/mayfly/authority/store"
)

// CRLStore is a store with the optional store.CRLStore port.
type CRLStore interface {
	store.Store
	store.CRLStore
}

// RunCRL runs the store.CRLStore conformance tests. shared, when not nil,
// opens two stores on one database (two CAs of an HA pair): they must
// never take the same CRL number.
func RunCRL(t *testing.T, open func(t *testing.T) CRLStore, shared func(t *testing.T) (CRLStore, CRLStore)) {
	t.Helper()
	runEach(t, []suiteTest[CRLStore]{
		{"ListRevocations", testListRevocations},
		{"NextCRLNumber", testNextCRLNumber},
		{"NextCRLNumberConcurrent", testNextCRLNumberConcurrent},
	}, open)
	if shared != nil {
		t.Run("NextCRLNumberShared", func(t *testing.T) {
			t.Parallel()
			a, b := shared(t)
			defer mustClose(t, a)
			defer mustClose(t, b)
			var seen []int64
			for i := range 6 {
				s := a
				if i%2 == 1 {
					s = b
				}
				n, err := s.NextCRLNumber(context.Background())
				if err != nil {
					t.Fatalf("NextCRLNumber: %v", err)
				}
				seen = append(seen, n)
			}
			for i, n := range seen {
				if n != int64(i) {
					t.Fatalf("numbers taken alternately by two stores = %v, want 0..5", seen)
				}
			}
		})
	}
}

func testListRevocations(t *testing.T, s CRLStore) {
	ctx := context.Background()
	cut := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	keep := map[string]*store.Revocation{}
	for i, expires := range []time.Time{{}, cut.Add(time.Hour), cut, cut.Add(-time.Second)} {
		r := NewRevocation(Serial(40+i), true)
		r.ExpiresAt, r.ReasonCode = expires, i
		if err := s.Revoke(ctx, r); err != nil {
			t.Fatalf("Revoke: %v", err)
		}
		if expires.IsZero() || !expires.Before(cut) {
			keep[r.Serial] = r
		}
	}
	got := map[string]bool{}
	err := s.ListRevocations(ctx, cut, func(r *store.Revocation) error {
		want, ok := keep[r.Serial]
		if !ok {
			t.Errorf("listed %s (ExpiresAt %s), which expired before %s", r.Serial, r.ExpiresAt, cut)
			return nil
		}
		if r.ReasonCode != want.ReasonCode || !r.RevokedAt.Equal(want.RevokedAt) || !r.ExpiresAt.Equal(want.ExpiresAt) {
			t.Errorf("listed %s: reason %d, revoked %v, expires %v; want %d, %v, %v", r.Serial, r.ReasonCode, r.RevokedAt, r.ExpiresAt,
				want.ReasonCode, want.RevokedAt, want.ExpiresAt)
		}
		got[r.Serial] = true
		return nil
	})
	if err != nil {
		t.Fatalf("ListRevocations: %v", err)
	}
	if len(got) != len(keep) {
		t.Fatalf("listed %v, want the %d serials not expired before the cut", got, len(keep))
	}
	stop := context.Canceled
	calls := 0
	if err := s.ListRevocations(ctx, cut, func(*store.Revocation) error { calls++; return stop }); err != stop || calls != 1 {
		t.Fatalf("ListRevocations with fn failing: err %v after %d calls, want fn's error after 1", err, calls)
	}
}

func testNextCRLNumber(t *testing.T, s CRLStore) {
	for want := int64(0); want < 3; want++ {
		n, err := s.NextCRLNumber(context.Background())
		if err != nil {
			t.Fatalf("NextCRLNumber: %v", err)
		}
		if n != want {
			t.Fatalf("NextCRLNumber = %d, want %d", n, want)
		}
	}
}

func testNextCRLNumberConcurrent(t *testing.T, s CRLStore) {
	const n = 16
	var (
		mu   sync.Mutex
		got  []int64
		wg   sync.WaitGroup
		errc = make(chan error, n)
	)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := s.NextCRLNumber(context.Background())
			if err != nil {
				errc <- err
				return
			}
			mu.Lock()
			got = append(got, v)
			mu.Unlock()
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatalf("NextCRLNumber: %v", err)
	}
	sort.Slice(got, func(i, j int) bool { return got[i] < got[j] })
	for i, v := range got {
		if v != int64(i) {
			t.Fatalf("concurrent NextCRLNumber took %v, want each of 0..%d once", got, n-1)
		}
	}
}
