package sqltest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/db/dbtest"
)

// ExpiresAt reads used_ott.expires_at of key; valid is false for NULL.
type ExpiresAt func(t *testing.T, key string) (exp time.Time, valid bool)

// TokenExpiryColumn checks what UseToken stores in used_ott.expires_at: the
// token's exp in whole seconds, NULL for a token without a usable exp.
func TokenExpiryColumn(t *testing.T, s store.Store, expiresAt ExpiresAt) {
	t.Helper()
	ctx := context.Background()
	exp := time.Now().Add(5 * time.Minute).Truncate(time.Second).UTC()
	tests := []struct {
		key   string
		token []byte
		want  time.Time // zero: NULL
	}{
		{"jwt", dbtest.TokenExpiring(exp), exp},
		{"epoch", dbtest.JWT(`{"exp":0}`), time.Unix(0, 0).UTC()},
		{"no-exp", dbtest.JWT(`{"sub":"x"}`), time.Time{}},
		{"opaque", []byte("opaque"), time.Time{}},
		{"negative", dbtest.JWT(`{"exp":-1}`), time.Time{}},
		{"year-10000", dbtest.JWT(`{"exp":253402300800}`), time.Time{}},
		{"huge", dbtest.JWT(`{"exp":1e300}`), time.Time{}},
	}
	for _, tc := range tests {
		if err := s.UseToken(ctx, tc.key, tc.token); err != nil {
			t.Fatalf("UseToken(%s): %v", tc.key, err)
		}
		got, valid := expiresAt(t, tc.key)
		if valid != !tc.want.IsZero() || (valid && !got.Equal(tc.want)) {
			t.Fatalf("UseToken(%s): expires_at = %v (valid %v), want %v", tc.key, got, valid, tc.want)
		}
	}
}

// UpgradeKeepsOldTokens checks a database written at schema version 1,
// before used_ott had expires_at: setupV1 creates that schema with a used
// token record under each of keys (tokens that expired long ago), and open
// opens it (migrating it). The old records are still refused after the
// upgrade and after Maintain (they have no expiry, so they are kept), while
// a token expired and recorded after the upgrade is pruned.
func UpgradeKeepsOldTokens[S Store](t *testing.T, setupV1 func(t *testing.T, keys []string), open func(t *testing.T) S, expiresAt ExpiresAt) {
	t.Helper()
	ctx := context.Background()
	old := []string{"old-1", "old-2"}
	setupV1(t, old)
	s := open(t)
	defer s.Close()
	expired := dbtest.TokenExpiring(time.Now().Add(-time.Hour))
	if err := s.UseToken(ctx, "new-expired", expired); err != nil {
		t.Fatalf("UseToken(new-expired): %v", err)
	}
	if _, valid := expiresAt(t, "new-expired"); !valid {
		t.Fatalf("new-expired: expires_at is NULL after the upgrade")
	}
	for _, key := range old {
		if _, valid := expiresAt(t, key); valid {
			t.Fatalf("%s: expires_at of a version-1 row is set, want NULL", key)
		}
	}
	for round, maintain := range []bool{false, true} {
		if maintain {
			if err := s.Maintain(ctx); err != nil {
				t.Fatalf("Maintain: %v", err)
			}
		}
		for _, key := range old {
			if err := s.UseToken(ctx, key, expired); !errors.Is(err, store.ErrTokenUsed) {
				t.Fatalf("round %d: UseToken(%s) of a token used before the upgrade: %v, want ErrTokenUsed", round, key, err)
			}
		}
	}
	if err := s.UseToken(ctx, "new-expired", expired); err != nil {
		t.Fatalf("UseToken(new-expired) after Maintain: %v, want nil (pruned)", err)
	}
}
