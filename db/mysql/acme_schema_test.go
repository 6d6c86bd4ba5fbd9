package mysql

import (
	"context"
	"database/sql"
	"errors"
	"testing"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/db/internal/acmesql"
	"github.com/mayfly-pki/mayfly/db/internal/sqltest"
)

// acmeColumn reads a column of a real ACME table of database name directly.
func acmeColumn(t *testing.T, name string) sqltest.ACMEColumn {
	db := dbConn(t, name)
	return func(t testing.TB, table, column, id string) any {
		t.Helper()
		q := "SELECT " + column + " FROM " + quote(table) + " WHERE id = ?"
		if acmesql.IsTime(column) {
			var v sql.NullTime
			if err := db.QueryRowContext(context.Background(), q, []byte(id)).Scan(&v); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			if !v.Valid {
				return nil
			}
			return v.Time.UTC()
		}
		var v []byte
		if err := db.QueryRowContext(context.Background(), q, []byte(id)).Scan(&v); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		if v == nil {
			return nil
		}
		return string(v)
	}
}

func TestACMEColumns(t *testing.T) {
	t.Parallel()
	name := newDatabase(t)
	s := openTest(t, name)
	defer s.Close()
	sqltest.ACMEColumns(t, s, acmeColumn(t, name))
}

func TestACMENoncePruning(t *testing.T) {
	t.Parallel()
	s := openFresh(t, 0)
	defer s.Close()
	sqltest.ACMENoncePruning(t, s)
}

// TestACMEUpgradeFromVersion6 opens a database whose ACME records a Mayfly
// at schema version 6 wrote (key/value tables of migration 4), and ones
// whose migration 7 stopped part way (MySQL commits each DDL statement):
// after the upgrade every record reads back, the columns hold what the
// JSON says and the version-4 tables are gone.
func TestACMEUpgradeFromVersion6(t *testing.T) {
	t.Parallel()
	recs := sqltest.ACMEUpgradeRecords()
	orders := acmesql.For(store.TableACMEOrders)
	challenges := acmesql.For(store.TableACMEChallenges)
	for _, tc := range []struct {
		name string
		// interrupt leaves db as an interrupted migration 7 would.
		interrupt func(t *testing.T, db *sql.DB)
	}{
		{"version 6", nil},
		{"interrupted", func(t *testing.T, db *sql.DB) {
			ctx := context.Background()
			stmts := []string{
				// acme_accounts: renamed, nothing else.
				"RENAME TABLE acme_accounts TO acme_accounts_v4",
				// acme_orders: renamed, created, some rows moved.
				"RENAME TABLE acme_orders TO acme_orders_v4",
				acmeRealTable(orders),
				// acme_challenges: done.
				"RENAME TABLE acme_challenges TO acme_challenges_v4",
				acmeRealTable(challenges),
			}
			for _, stmt := range stmts {
				if _, err := db.ExecContext(ctx, stmt); err != nil {
					t.Fatalf("%s: %v", stmt, err)
				}
			}
			n := 0
			for _, r := range recs {
				switch {
				case r.Table == store.TableACMEOrders && n < 10:
					n++
					if _, err := db.ExecContext(ctx, acmeUpsert(orders), orders.Args(r.Key, r.Value)...); err != nil {
						t.Fatal(err)
					}
				case r.Table == store.TableACMEChallenges:
					if _, err := db.ExecContext(ctx, acmeUpsert(challenges), challenges.Args(r.Key, r.Value)...); err != nil {
						t.Fatal(err)
					}
				}
			}
			if _, err := db.ExecContext(ctx, "DROP TABLE acme_challenges_v4"); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			name := newDatabase(t)
			if _, err := adminDB(t).ExecContext(ctx, "CREATE DATABASE "+name+" CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"); err != nil {
				t.Fatal(err)
			}
			db := dbConn(t, name)
			stmts := []string{`CREATE TABLE mayfly_schema_migrations (
				version INT NOT NULL PRIMARY KEY, applied_at DATETIME(6) NOT NULL) ENGINE=InnoDB`}
			for _, m := range migrations()[:6] {
				stmts = append(stmts, m.stmts...)
				for _, g := range m.guarded {
					stmts = append(stmts, g.stmt)
				}
				stmts = append(stmts, "INSERT INTO mayfly_schema_migrations (version, applied_at) VALUES ("+
					string(rune('0'+m.version))+", UTC_TIMESTAMP(6))")
			}
			for _, stmt := range stmts {
				if _, err := db.ExecContext(ctx, stmt); err != nil {
					t.Fatalf("create a version 6 schema: %s: %v", stmt, err)
				}
			}
			for _, r := range recs { // the statement of the version-6 code
				if _, err := db.ExecContext(ctx, "INSERT INTO "+quote(r.Table)+" (nkey, nvalue) VALUES (?, ?)", []byte(r.Key), r.Value); err != nil {
					t.Fatal(err)
				}
			}
			if tc.interrupt != nil {
				tc.interrupt(t, db)
			}
			s := openTest(t, name)
			defer s.Close()
			sqltest.CheckACMERecords(t, s, recs)
			column := acmeColumn(t, name)
			if got := column(t, store.TableACMEOrders, "expires_at", "ord600"); got != sqltest.ACMEOrderAt {
				t.Fatalf("moved order: expires_at = %v, want %v", got, sqltest.ACMEOrderAt)
			}
			if got := column(t, store.TableACMEAccounts, "status", "broken"); got != nil {
				t.Fatalf("moved non-JSON account: status = %v, want NULL", got)
			}
			var n int
			if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM acme_orders WHERE account_id = 'acc1'").Scan(&n); err != nil || n != acmesql.ScanPage+123 {
				t.Fatalf("orders of acc1 by the account_id column: %d, %v; want %d", n, err, acmesql.ScanPage+123)
			}
			if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM information_schema.tables
				WHERE table_schema = DATABASE() AND table_name LIKE '%\_v4'`).Scan(&n); err != nil || n != 0 {
				t.Fatalf("version-4 tables left: %d, %v", n, err)
			}
			if v, err := schemaVersion(ctx, db); err != nil || v != 7 {
				t.Fatalf("schema version %d, %v; want 7", v, err)
			}
			if ok, err := s.ACMEConsume(ctx, store.TableACMENonces, "nonce1"); !ok || err != nil {
				t.Fatalf("consume the moved nonce: %v, %v", ok, err)
			}
			if _, err := s.ACMEGet(ctx, store.TableACMENonces, "nonce1"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("consumed nonce still there: %v", err)
			}
		})
	}
}
