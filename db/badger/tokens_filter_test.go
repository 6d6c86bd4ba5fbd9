package badger

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/mayfly-pki/mayfly/authority/store"
)

// waitTokensReady waits for the used-token filter to be complete.
func waitTokensReady(t *testing.T, s *Store) {
	t.Helper()
	select {
	case <-s.tokensLoaded:
	case <-time.After(30 * time.Second):
		t.Fatal("the used-token filter was not loaded after 30s")
	}
	if !s.tokensReady.Load() {
		t.Fatal("the used-token filter finished loading without being complete")
	}
}

// TestUsedTokenFilter: keys present when the store opens (more than one
// loading chunk, written behind the store's back) are refused once the
// filter is complete, fresh keys are accepted mostly without a lookup, and
// a fresh key used twice is refused.
func TestUsedTokenFilter(t *testing.T) {
	dir := t.TempDir()
	const existing = 2*tokenLoadChunk + 17
	kv := map[string][]byte{}
	for i := range existing {
		kv[string(recordKey("used_ott", fmt.Sprintf("old-%d", i)))] = []byte("t")
	}
	rawWrite(t, dir, kv)

	s, err := Open(context.Background(), Options{Dir: dir, MemTableSize: testMemTableSize})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	waitTokensReady(t, s)
	ctx := context.Background()

	for _, i := range []int{0, tokenLoadChunk - 1, tokenLoadChunk, tokenLoadChunk + 1, existing - 1} {
		if err := s.UseToken(ctx, fmt.Sprintf("old-%d", i), []byte("t")); !errors.Is(err, store.ErrTokenUsed) {
			t.Fatalf("reuse of old-%d: got %v, want ErrTokenUsed", i, err)
		}
	}

	before := s.tokenLookups.Load()
	const fresh = 500
	for i := range fresh {
		if err := s.UseToken(ctx, fmt.Sprintf("new-%d", i), []byte("t")); err != nil {
			t.Fatalf("new-%d: %v", i, err)
		}
	}
	// About 1% false positives; each costs a lookup and nothing else.
	if n := s.tokenLookups.Load() - before; n > fresh/20 {
		t.Fatalf("%d fresh tokens needed %d lookups; the filter is not used", fresh, n)
	}
	for i := range fresh {
		if err := s.UseToken(ctx, fmt.Sprintf("new-%d", i), []byte("t")); !errors.Is(err, store.ErrTokenUsed) {
			t.Fatalf("reuse of new-%d: got %v, want ErrTokenUsed", i, err)
		}
	}
}

// TestUsedTokenFilterAcrossReopen: tokens used in one run are refused in the
// next, whether or not its filter has finished loading.
func TestUsedTokenFilterAcrossReopen(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s, err := Open(ctx, Options{Dir: dir, MemTableSize: testMemTableSize})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		if err := s.UseToken(ctx, fmt.Sprintf("jti-%d", i), []byte("t")); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(ctx, Options{Dir: dir, MemTableSize: testMemTableSize})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// Right away (the filter may still be loading), then once it is complete.
	if err := s.UseToken(ctx, "jti-0", []byte("t")); !errors.Is(err, store.ErrTokenUsed) {
		t.Fatalf("reuse of jti-0 after reopening: got %v, want ErrTokenUsed", err)
	}
	waitTokensReady(t, s)
	for i := 1; i < 50; i++ {
		if err := s.UseToken(ctx, fmt.Sprintf("jti-%d", i), []byte("t")); !errors.Is(err, store.ErrTokenUsed) {
			t.Fatalf("reuse of jti-%d after reopening: got %v, want ErrTokenUsed", i, err)
		}
	}
}

// TestCloseWhileLoadingTokens: Close does not wait for the whole table, and
// the loader stops without logging an error.
func TestCloseWhileLoadingTokens(t *testing.T) {
	dir := t.TempDir()
	kv := map[string][]byte{}
	for i := range 2*tokenLoadChunk + 17 {
		kv[string(recordKey("used_ott", fmt.Sprintf("old-%d", i)))] = []byte("t")
	}
	rawWrite(t, dir, kv)
	for range 3 {
		s, err := Open(context.Background(), Options{Dir: dir, MemTableSize: testMemTableSize})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		select {
		case <-s.tokensLoaded:
		default:
			t.Fatal("Close returned before the filter loader stopped")
		}
	}
}
