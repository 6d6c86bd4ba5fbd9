package postgresql

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mayfly-pki/mayfly/db/dbtest"
	"github.com/mayfly-pki/mayfly/db/internal/sqltest"
)

func TestTokenPruning(t *testing.T) {
	t.Parallel()
	dbtest.RunTokenPruning(t, func(t *testing.T) dbtest.MaintainerStore { return openTest(t, newSchema(t)) })
}

// expiresAt reads used_ott.expires_at of key in tg, on a connection of
// its own.
func expiresAt(t *testing.T, tg target) sqltest.ExpiresAt {
	conn := tg.conn(t)
	return func(t *testing.T, key string) (time.Time, bool) {
		t.Helper()
		var exp *time.Time
		if err := conn.QueryRow(context.Background(), "SELECT expires_at FROM used_ott WHERE token_key = $1",
			[]byte(key)).Scan(&exp); err != nil {
			t.Fatalf("read used_ott.expires_at of %s: %v", key, err)
		}
		if exp == nil {
			return time.Time{}, false
		}
		return exp.UTC(), true
	}
}

func TestTokenExpiryColumn(t *testing.T) {
	t.Parallel()
	tg := newSchema(t)
	s := openTest(t, tg)
	defer s.Close()
	sqltest.TokenExpiryColumn(t, s, expiresAt(t, tg))
}

// TestUpgradeFromVersion1 opens a database written at schema version 1
// (used_ott without expires_at), as a Mayfly of that version left it.
func TestUpgradeFromVersion1(t *testing.T) {
	t.Parallel()
	tg := newSchema(t)
	setup := func(t *testing.T, keys []string) {
		ctx := context.Background()
		err := pgx.BeginFunc(ctx, tg.conn(t), func(tx pgx.Tx) error {
			stmts := append([]string{`CREATE TABLE mayfly_schema_migrations (
				version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`},
				migrations()[0].stmts...)
			stmts = append(stmts, "INSERT INTO mayfly_schema_migrations (version) VALUES (1)")
			for _, stmt := range stmts {
				if _, err := tx.Exec(ctx, stmt); err != nil {
					return err
				}
			}
			for _, key := range keys {
				if _, err := tx.Exec(ctx, "INSERT INTO used_ott (token_key, token) VALUES ($1, $2)",
					[]byte(key), dbtest.TokenExpiring(time.Now().Add(-time.Hour))); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("create a version 1 schema: %v", err)
		}
	}
	open := func(t *testing.T) *Store { return openTest(t, tg) }
	sqltest.UpgradeKeepsOldTokens(t, setup, open, expiresAt(t, tg))
}
