package bbolt

import (
	"context"
	"encoding/base64"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/mayfly-pki/mayfly/db/dbtest"
	"github.com/mayfly-pki/mayfly/internal/errs"
)

// fakeJWT returns a compact JWS-shaped token whose payload is claims.
func fakeJWT(claims string) []byte {
	enc := base64.RawURLEncoding.EncodeToString
	return []byte(enc([]byte(`{"alg":"ES256"}`)) + "." + enc([]byte(claims)) + "." + enc([]byte("sig")))
}

func usedKeys(t *testing.T, s *Store) []string {
	t.Helper()
	var keys []string
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte("used_ott")).ForEach(func(k, _ []byte) error {
			keys = append(keys, string(k))
			return nil
		})
	})
	if err != nil {
		t.Fatalf("read used_ott: %v", err)
	}
	return keys
}

func TestMaintainPrunesUsedTokens(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t, filepath.Join(t.TempDir(), "step.db"))
	defer s.Close()
	now := time.Now().Unix()
	tokens := []struct {
		key   string
		token []byte
		kept  bool
	}{
		{"expired-long-ago", fakeJWT(fmt.Sprintf(`{"exp":%d}`, now-3600)), false},
		{"expired-11m", fakeJWT(fmt.Sprintf(`{"exp":%d}`, now-11*60)), false},
		{"expired-float", fakeJWT(fmt.Sprintf(`{"exp":%d.5}`, now-3600)), false},
		{"expired-9m", fakeJWT(fmt.Sprintf(`{"exp":%d}`, now-9*60)), true},
		{"valid", fakeJWT(fmt.Sprintf(`{"exp":%d}`, now+300)), true},
		{"no-exp", fakeJWT(`{"sub":"x"}`), true},
		{"string-exp", fakeJWT(`{"exp":"1"}`), true},
		{"not-a-jwt", []byte("opaque"), true},
		{"bad-base64", []byte("a.!!!.c"), true},
	}
	var want []string
	for _, tk := range tokens {
		if err := s.UseToken(ctx, tk.key, tk.token); err != nil {
			t.Fatalf("UseToken(%s): %v", tk.key, err)
		}
		if tk.kept {
			want = append(want, tk.key)
		}
	}
	slices.Sort(want)
	if err := s.Maintain(ctx); err != nil {
		t.Fatalf("Maintain: %v", err)
	}
	if got := usedKeys(t, s); !slices.Equal(got, want) {
		t.Fatalf("used_ott after Maintain = %v, want %v", got, want)
	}
	// A pruned token's key can be used again (its token has expired, so
	// the authority refuses it before this point).
	if err := s.UseToken(ctx, "expired-11m", []byte("x")); err != nil {
		t.Fatalf("UseToken after prune: %v", err)
	}
}

// TestMaintainBatches checks that Maintain loops until fewer than a batch
// of expired records remain.
func TestMaintainBatches(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t, filepath.Join(t.TempDir(), "step.db"))
	defer s.Close()
	old := fakeJWT(fmt.Sprintf(`{"exp":%d}`, time.Now().Unix()-3600))
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("used_ott"))
		for i := range 2*pruneBatch + 5 {
			if err := b.Put(fmt.Appendf(nil, "k%05d", i), old); err != nil {
				return err
			}
		}
		return b.Put([]byte("keep"), []byte("opaque"))
	})
	if err != nil {
		t.Fatalf("fill used_ott: %v", err)
	}
	if err := s.Maintain(ctx); err != nil {
		t.Fatalf("Maintain: %v", err)
	}
	if got := usedKeys(t, s); !slices.Equal(got, []string{"keep"}) {
		t.Fatalf("used_ott after Maintain has %d keys, want [keep]", len(got))
	}
}

func TestMaintainAfterClose(t *testing.T) {
	t.Parallel()
	s := openTest(t, filepath.Join(t.TempDir(), "step.db"))
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Maintain(context.Background()); !errs.Is(err, errs.Unavailable) {
		t.Fatalf("Maintain after Close: %v, want kind unavailable", err)
	}
}

// TestTokenPruningConformance runs the suite every backend's pruning passes.
func TestTokenPruningConformance(t *testing.T) {
	t.Parallel()
	dbtest.RunTokenPruning(t, func(t *testing.T) dbtest.MaintainerStore {
		return openTest(t, filepath.Join(t.TempDir(), "ca.db"))
	})
}
