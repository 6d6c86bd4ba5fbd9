package postgresql

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/mayfly-pki/mayfly/authority/acme"
)

// TestACMENonceAcrossInstances: two CAs share the database; a nonce one of
// them issued is accepted once by either, and never again by both, also
// when both try at the same moment (wire-spec §6.4 keeps nonces in the
// database, so HA nodes agree).
func TestACMENonceAcrossInstances(t *testing.T) {
	t.Parallel()
	tg := newSchema(t)
	sa, sb := openTest(t, tg), openTest(t, tg)
	defer sa.Close()
	defer sb.Close()
	a, b := acme.New(acme.Deps{Store: sa}), acme.New(acme.Deps{Store: sb})
	ctx := context.Background()
	n, err := a.NewNonce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.UseNonce(ctx, n); err != nil {
		t.Fatalf("the other CA refused a fresh nonce: %v", err)
	}
	for name, s := range map[string]*acme.Service{"issuer": a, "other": b} {
		var p *acme.Error
		if err := s.UseNonce(ctx, n); !errors.As(err, &p) || p.Type != acme.BadNonce {
			t.Fatalf("%s CA accepted a used nonce: %v", name, err)
		}
	}
	// Concurrent uses of each nonce on both CAs: exactly one wins.
	for range 10 {
		n, err := b.NewNonce(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins := 0
		for _, s := range []*acme.Service{a, b, a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if s.UseNonce(ctx, n) == nil {
					mu.Lock()
					wins++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if wins != 1 {
			t.Fatalf("nonce used %d times across two CAs, want once", wins)
		}
	}
}
