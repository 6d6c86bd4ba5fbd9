package dbtest

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/internal/errs"
)

// MaintainerStore is a store with the optional maintenance port.
type MaintainerStore interface {
	store.Store
	store.Maintainer
}

// MaintainerOpener returns a new, empty store implementing
// store.Maintainer for one test. The suite closes it.
type MaintainerOpener func(t *testing.T) MaintainerStore

// JWT returns a compact JWS-shaped token (not signed) whose payload is the
// JSON claims.
func JWT(claims string) []byte {
	enc := base64.RawURLEncoding.EncodeToString
	return []byte(enc([]byte(`{"alg":"ES256"}`)) + "." + enc([]byte(claims)) + "." + enc([]byte("sig")))
}

// TokenExpiring returns a JWT whose exp claim is exp (whole seconds).
func TokenExpiring(exp time.Time) []byte {
	return JWT(fmt.Sprintf(`{"jti":"x","exp":%d}`, exp.Unix()))
}

// PruneGrace is how long after its exp every backend keeps a used token's
// record: the authority refuses an expired token (exp plus a one-minute
// leeway) before it looks the token up, so only clock adjustments need the
// record longer.
const PruneGrace = 10 * time.Minute

// RunTokenPruning checks store.Maintainer's pruning of used tokens, through
// UseToken only: after Maintain, the key of a token whose exp is more than
// PruneGrace in the past can be used again (its record was deleted), while
// every other key is still refused with store.ErrTokenUsed: tokens still
// valid, expired within the grace, without a numeric exp, or not JWTs at
// all. It also checks that one Maintain removes far more records than one
// batch of deletions, that a cancelled Maintain returns context.Canceled,
// and that Maintain after Close fails with errs.Unavailable.
func RunTokenPruning(t *testing.T, open MaintainerOpener) {
	t.Helper()
	runEach(t, []suiteTest[MaintainerStore]{
		{"PrunesOnlyExpired", testPrunesOnlyExpired},
		{"PrunesManyExpired", testPrunesManyExpired},
		{"MaintainCancelled", testMaintainCancelled},
	}, open)
	t.Run("MaintainAfterClose", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		mustClose(t, s)
		if err := s.Maintain(context.Background()); !errs.Is(err, errs.Unavailable) {
			t.Fatalf("Maintain after Close: %v, want kind %v", err, errs.Unavailable)
		}
	})
}

func testPrunesOnlyExpired(t *testing.T, s MaintainerStore) {
	ctx := context.Background()
	now := time.Now()
	tokens := []struct {
		key   string
		token []byte
		kept  bool
	}{
		{"expired-long-ago", TokenExpiring(now.Add(-time.Hour)), false},
		{"expired-11m", TokenExpiring(now.Add(-PruneGrace - time.Minute)), false},
		{"expired-float", JWT(fmt.Sprintf(`{"exp":%d.5}`, now.Add(-time.Hour).Unix())), false},
		{"expired-9m", TokenExpiring(now.Add(-PruneGrace + time.Minute)), true},
		{"valid", TokenExpiring(now.Add(5 * time.Minute)), true},
		{"no-exp", JWT(`{"sub":"x"}`), true},
		{"string-exp", JWT(`{"exp":"1"}`), true},
		{"not-a-jwt", []byte("opaque"), true},
		{"bad-base64", []byte("a.!!!.c"), true},
	}
	for _, tk := range tokens {
		if err := s.UseToken(ctx, tk.key, tk.token); err != nil {
			t.Fatalf("UseToken(%s): %v", tk.key, err)
		}
	}
	if err := s.Maintain(ctx); err != nil {
		t.Fatalf("Maintain: %v", err)
	}
	for _, tk := range tokens {
		err := s.UseToken(ctx, tk.key, tk.token)
		switch {
		case tk.kept && !errors.Is(err, store.ErrTokenUsed):
			t.Fatalf("UseToken(%s) after Maintain: %v, want ErrTokenUsed (the record must be kept)", tk.key, err)
		case !tk.kept && err != nil:
			t.Fatalf("UseToken(%s) after Maintain: %v, want nil (the expired record must be pruned)", tk.key, err)
		}
	}
}

func testPrunesManyExpired(t *testing.T, s MaintainerStore) {
	ctx := context.Background()
	const expired, writers = 2500, 50
	old := TokenExpiring(time.Now().Add(-time.Hour))
	errList := Concurrently(writers, func(w int) error {
		for i := w; i < expired; i += writers {
			if err := s.UseToken(ctx, "old-"+strconv.Itoa(i), old); err != nil {
				return err
			}
		}
		return nil
	})
	for w, err := range errList {
		if err != nil {
			t.Fatalf("writer %d: UseToken: %v", w, err)
		}
	}
	live := TokenExpiring(time.Now().Add(time.Hour))
	if err := s.UseToken(ctx, "live", live); err != nil {
		t.Fatalf("UseToken(live): %v", err)
	}
	if err := s.Maintain(ctx); err != nil {
		t.Fatalf("Maintain: %v", err)
	}
	for i := 0; i < expired; i += 97 {
		if err := s.UseToken(ctx, "old-"+strconv.Itoa(i), old); err != nil {
			t.Fatalf("UseToken(old-%d) after Maintain: %v, want nil (every expired record must be pruned)", i, err)
		}
	}
	if err := s.UseToken(ctx, "live", live); !errors.Is(err, store.ErrTokenUsed) {
		t.Fatalf("UseToken(live) after Maintain: %v, want ErrTokenUsed", err)
	}
}

func testMaintainCancelled(t *testing.T, s MaintainerStore) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Maintain(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Maintain with a cancelled context: %v, want context.Canceled", err)
	}
}
