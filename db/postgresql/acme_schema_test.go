package postgresql

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/db/internal/acmesql"
	"github.com/mayfly-pki/mayfly/db/internal/sqltest"
)

// acmeColumn reads a column of a real ACME table of tg directly.
func acmeColumn(t *testing.T, tg target) sqltest.ACMEColumn {
	conn := tg.conn(t)
	return func(t testing.TB, table, column, id string) any {
		t.Helper()
		q := `SELECT ` + column + ` FROM ` + quote(table) + ` WHERE id = $1`
		if acmesql.IsTime(column) {
			var v *time.Time
			if err := conn.QueryRow(context.Background(), q, []byte(id)).Scan(&v); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			if v == nil {
				return nil
			}
			return v.UTC()
		}
		var v *string
		if err := conn.QueryRow(context.Background(), q, []byte(id)).Scan(&v); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		if v == nil {
			return nil
		}
		return *v
	}
}

func TestACMEColumns(t *testing.T) {
	t.Parallel()
	tg := newSchema(t)
	s := openTest(t, tg)
	defer s.Close()
	sqltest.ACMEColumns(t, s, acmeColumn(t, tg))
}

func TestACMENoncePruning(t *testing.T) {
	t.Parallel()
	s := openTest(t, newSchema(t))
	defer s.Close()
	sqltest.ACMENoncePruning(t, s)
}

// TestACMEUpgradeFromVersion6 opens a database whose ACME records a Mayfly
// at schema version 6 wrote (key/value tables of migration 4): after
// migration 7 every record reads back, the columns hold what the JSON says,
// and the version-4 tables are gone.
func TestACMEUpgradeFromVersion6(t *testing.T) {
	t.Parallel()
	tg := newSchema(t)
	recs := sqltest.ACMEUpgradeRecords()
	ctx := context.Background()
	conn := tg.conn(t)
	err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `CREATE TABLE mayfly_schema_migrations (
			version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
			return err
		}
		for _, m := range migrations()[:6] {
			for _, stmt := range m.stmts {
				if _, err := tx.Exec(ctx, stmt); err != nil {
					return err
				}
			}
			if _, err := tx.Exec(ctx, "INSERT INTO mayfly_schema_migrations (version) VALUES ($1)", m.version); err != nil {
				return err
			}
		}
		for _, r := range recs { // the statements of the version-6 code
			if _, err := tx.Exec(ctx, `INSERT INTO `+quote(r.Table)+` (nkey, nvalue) VALUES ($1, $2)`, []byte(r.Key), r.Value); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("create a version 6 database: %v", err)
	}
	s := openTest(t, tg)
	defer s.Close()
	sqltest.CheckACMERecords(t, s, recs)
	column := acmeColumn(t, tg)
	if got := column(t, store.TableACMEOrders, "expires_at", "ord600"); got != sqltest.ACMEOrderAt {
		t.Fatalf("moved order: expires_at = %v, want %v", got, sqltest.ACMEOrderAt)
	}
	if got := column(t, store.TableACMEAccounts, "status", "broken"); got != nil {
		t.Fatalf("moved non-JSON account: status = %v, want NULL", got)
	}
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM acme_orders WHERE account_id = 'acc1'`).Scan(&n); err != nil || n != acmesql.ScanPage+123 {
		t.Fatalf("orders of acc1 by the account_id column: %d, %v; want %d", n, err, acmesql.ScanPage+123)
	}
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM information_schema.tables
		WHERE table_schema = current_schema() AND table_name LIKE '%\_v4'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("version-4 tables left: %d, %v", n, err)
	}
	if v, err := schemaVersion(ctx, conn); err != nil || v != 7 {
		t.Fatalf("schema version %d, %v; want 7", v, err)
	}
	// The store works on: a nonce of the old database is consumed once.
	if ok, err := s.ACMEConsume(ctx, store.TableACMENonces, "nonce1"); !ok || err != nil {
		t.Fatalf("consume the moved nonce: %v, %v", ok, err)
	}
	if _, err := s.ACMEGet(ctx, store.TableACMENonces, "nonce1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("consumed nonce still there: %v", err)
	}
}
