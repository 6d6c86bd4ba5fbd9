package badger

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/db/dbtest"
	"github.com/mayfly-pki/mayfly/db/internal/steplayout"
)

// fakeJWT returns a compact JWS-shaped token with the given exp.
func fakeJWT(exp int64) []byte {
	enc := base64.RawURLEncoding
	return []byte(enc.EncodeToString([]byte(`{"alg":"ES256"}`)) + "." +
		enc.EncodeToString([]byte(fmt.Sprintf(`{"exp":%d,"jti":"x"}`, exp))) + ".c2ln")
}

func TestPruneUsedTokens(t *testing.T) {
	t.Parallel()
	s := openOrdered(t)
	ctx := context.Background()
	now := time.Now()
	expired, live := 25, 5
	for i := 0; i < expired; i++ {
		if err := s.UseToken(ctx, fmt.Sprintf("old-%d", i), fakeJWT(now.Add(-time.Hour).Unix())); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < live; i++ {
		if err := s.UseToken(ctx, fmt.Sprintf("new-%d", i), fakeJWT(now.Add(5*time.Minute).Unix())); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.UseToken(ctx, "not-a-jwt", []byte("opaque")); err != nil {
		t.Fatal(err)
	}
	// Batches of 10: 10, 10, 5.
	total := 0
	for _, want := range []int{10, 10, 5, 0} {
		n, err := s.pruneUsedTokens(ctx, now.Add(-usedTokenGrace), 10)
		if err != nil || n != want {
			t.Fatalf("pruneUsedTokens = %d, %v; want %d", n, err, want)
		}
		total += n
	}
	if total != expired {
		t.Fatalf("pruned %d, want %d", total, expired)
	}
	for i := 0; i < live; i++ {
		if err := s.UseToken(ctx, fmt.Sprintf("new-%d", i), []byte("x")); !errors.Is(err, store.ErrTokenUsed) {
			t.Fatalf("live token new-%d was pruned: %v", i, err)
		}
	}
	if err := s.UseToken(ctx, "not-a-jwt", []byte("x")); !errors.Is(err, store.ErrTokenUsed) {
		t.Fatalf("a non-JWT record was pruned: %v", err)
	}
	if err := s.UseToken(ctx, "old-3", []byte("x")); err != nil {
		t.Fatalf("an expired token's record should be gone: %v", err)
	}
	// Maintain prunes too (and then runs value-log GC).
	if err := s.UseToken(ctx, "old-again", fakeJWT(now.Add(-time.Hour).Unix())); err != nil {
		t.Fatal(err)
	}
	if err := s.Maintain(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.UseToken(ctx, "old-again", []byte("x")); err != nil {
		t.Fatalf("Maintain did not prune an expired token: %v", err)
	}
}

func TestTokenExpiry(t *testing.T) {
	t.Parallel()
	if exp, ok := steplayout.TokenExpiry(fakeJWT(1795370526)); !ok || exp != 1795370526 {
		t.Fatalf("tokenExpiry = %d, %v", exp, ok)
	}
	for _, bad := range []string{"", "a.b", "a.!!!.c", "a." + base64.RawURLEncoding.EncodeToString([]byte(`{"jti":"x"}`)) + ".c"} {
		if _, ok := steplayout.TokenExpiry([]byte(bad)); ok {
			t.Fatalf("steplayout.TokenExpiry(%q) accepted", bad)
		}
	}
}

// TestTokenPruningConformance runs the suite every backend's pruning passes.
func TestTokenPruningConformance(t *testing.T) {
	t.Parallel()
	dbtest.RunTokenPruning(t, func(t *testing.T) dbtest.MaintainerStore { return openTest(t, t.TempDir()) })
}
