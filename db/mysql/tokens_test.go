package mysql

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/mayfly-pki/mayfly/db/dbtest"
	"github.com/mayfly-pki/mayfly/db/internal/sqltest"
)

func TestTokenPruning(t *testing.T) {
	t.Parallel()
	eachDesign(t, func(t *testing.T, committers int) {
		dbtest.RunTokenPruning(t, func(t *testing.T) dbtest.MaintainerStore { return openFresh(t, committers) })
	})
}

// expiresAt reads used_ott.expires_at of key in database name.
func expiresAt(t *testing.T, name string) sqltest.ExpiresAt {
	db := dbConn(t, name)
	return func(t *testing.T, key string) (time.Time, bool) {
		t.Helper()
		var exp sql.NullTime
		if err := db.QueryRowContext(context.Background(), "SELECT expires_at FROM used_ott WHERE token_key = ?",
			[]byte(key)).Scan(&exp); err != nil {
			t.Fatalf("read used_ott.expires_at of %s: %v", key, err)
		}
		return exp.Time.UTC(), exp.Valid
	}
}

func TestTokenExpiryColumn(t *testing.T) {
	t.Parallel()
	name := newDatabase(t)
	s := openTest(t, name)
	defer s.Close()
	sqltest.TokenExpiryColumn(t, s, expiresAt(t, name))
}

// TestUpgradeFromVersion1 opens a database written at schema version 1
// (used_ott without expires_at), as a Mayfly of that version left it, and
// one whose migration to version 2 was interrupted after its first
// statement (MySQL commits DDL at once).
func TestUpgradeFromVersion1(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		extra []string // run after the version 1 schema
	}{
		{"version 1", nil},
		{"interrupted", []string{migrations()[1].guarded[0].stmt}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			name := newDatabase(t)
			setup := func(t *testing.T, keys []string) {
				ctx := context.Background()
				if _, err := adminDB(t).ExecContext(ctx, "CREATE DATABASE "+name+" CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"); err != nil {
					t.Fatal(err)
				}
				db := dbConn(t, name)
				stmts := append([]string{`CREATE TABLE mayfly_schema_migrations (
					version INT NOT NULL PRIMARY KEY, applied_at DATETIME(6) NOT NULL) ENGINE=InnoDB`},
					migrations()[0].stmts...)
				stmts = append(stmts, "INSERT INTO mayfly_schema_migrations (version, applied_at) VALUES (1, UTC_TIMESTAMP(6))")
				stmts = append(stmts, tc.extra...)
				for _, stmt := range stmts {
					if _, err := db.ExecContext(ctx, stmt); err != nil {
						t.Fatalf("create a version 1 schema: %s: %v", stmt, err)
					}
				}
				for _, key := range keys {
					if _, err := db.ExecContext(ctx, "INSERT INTO used_ott (token_key, token) VALUES (?, ?)",
						[]byte(key), dbtest.TokenExpiring(time.Now().Add(-time.Hour))); err != nil {
						t.Fatalf("insert a version 1 used token: %v", err)
					}
				}
			}
			open := func(t *testing.T) *Store { return openTest(t, name) }
			sqltest.UpgradeKeepsOldTokens(t, setup, open, func(t *testing.T, key string) (time.Time, bool) {
				return expiresAt(t, name)(t, key)
			})
		})
	}
}
