package badger

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	badgerdb "github.com/dgraph-io/badger/v4"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/db/dbtest"
	"github.com/mayfly-pki/mayfly/db/internal/steplayout"
)

func openOrdered(t *testing.T) *Store {
	t.Helper()
	s, err := Open(context.Background(), Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// TestUseTokenOrderedExactlyOnce: UseToken and UseTokenOrdered racing for one
// key, and a second use after the first is committed, all agree.
func TestUseTokenOrderedExactlyOnce(t *testing.T) {
	t.Parallel()
	s := openOrdered(t)
	ctx := context.Background()
	for round := 0; round < 20; round++ {
		key := fmt.Sprintf("jti-%d", round)
		var wins atomic.Int32
		var wg sync.WaitGroup
		for g := 0; g < 40; g++ {
			wg.Add(1)
			go func(g int) {
				defer wg.Done()
				var err error
				if g%2 == 0 {
					err = s.UseTokenOrdered(ctx, key, []byte("tok"))
				} else {
					err = s.UseToken(ctx, key, []byte("tok"))
				}
				switch {
				case err == nil:
					wins.Add(1)
				case !errors.Is(err, store.ErrTokenUsed):
					t.Errorf("unexpected error: %v", err)
				}
			}(g)
		}
		wg.Wait()
		if n := wins.Load(); n != 1 {
			t.Fatalf("round %d: %d successes, want exactly 1", round, n)
		}
	}
	// Once committed (a durable write acknowledged after it), both refuse it.
	if err := s.UseTokenOrdered(ctx, "late", []byte("t")); err != nil {
		t.Fatal(err)
	}
	if err := s.UseToken(ctx, "other", []byte("t")); err != nil {
		t.Fatal(err)
	}
	for _, use := range []func(context.Context, string, []byte) error{s.UseToken, s.UseTokenOrdered} {
		if err := use(ctx, "late", []byte("t")); !errors.Is(err, store.ErrTokenUsed) {
			t.Fatalf("reuse after commit: %v, want ErrTokenUsed", err)
		}
	}
}

// TestUseTokenOrderedDurableBeforeLaterAck: once a write queued after
// UseTokenOrdered is acknowledged, the token is committed (visible to a fresh
// read of the database), for concurrent sign-like sequences.
func TestUseTokenOrderedDurableBeforeLaterAck(t *testing.T) {
	t.Parallel()
	s := openOrdered(t)
	certs := dbtest.NewCertificates(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				key := fmt.Sprintf("tok-%d-%d", g, i)
				if err := s.UseTokenOrdered(ctx, key, []byte("raw")); err != nil {
					t.Errorf("UseTokenOrdered: %v", err)
					return
				}
				if err := s.StoreCertificate(ctx, certs.New(t, fmt.Sprintf("%d%03d", g+1, i))); err != nil {
					t.Errorf("StoreCertificate: %v", err)
					return
				}
				err := s.db.View(func(txn *badgerdb.Txn) error {
					_, err := txn.Get(recordKey(steplayout.TableUsedOTT, key))
					return err
				})
				if err != nil {
					t.Errorf("token %s not committed after a later write was acknowledged: %v", key, err)
					return
				}
			}
		}(g)
	}
	wg.Wait()
	left := s.reserved.Len()
	if left != 0 {
		t.Fatalf("%d reservations left after every write committed", left)
	}
}
