package postgresql

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mayfly-pki/mayfly/db/internal/sqltest"
	"github.com/mayfly-pki/mayfly/internal/errs"
)

// TestOpenErrors needs no server: nothing listens on 127.0.0.1:1.
func TestOpenErrors(t *testing.T) {
	t.Parallel()
	const password = "S3cret-Pa55word"
	opened := []string{"postgresql database 127.0.0.1:1/mayfly: open:"}
	sqltest.OpenErrors(t, password, Open, []sqltest.OpenError[Options]{
		{Name: "empty DSN", Want: []string{"db.dataSource is empty"}, Kind: errs.Internal},
		{Name: "unparsable URL", Opts: Options{DataSource: "postgres://u:" + password + "@127.0.0.1:notaport/db"},
			Want: []string{"invalid db.dataSource"}, Kind: errs.Internal},
		{Name: "unparsable key=value", Opts: Options{DataSource: "host=127.0.0.1 password=" + password + " port=x"},
			Want: []string{"invalid db.dataSource"}, Kind: errs.Internal},
		{Name: "unreachable", Opts: Options{DataSource: "postgres://u:" + password + "@127.0.0.1:1/mayfly?connect_timeout=5"},
			Want: opened, Kind: errs.Unavailable},
		{Name: "unreachable, database option wins", Opts: Options{DataSource: "postgres://u:" + password + "@127.0.0.1:1/other?connect_timeout=5", Database: "mayfly"},
			Want: opened, Kind: errs.Unavailable},
		{Name: "unreachable key=value", Opts: Options{DataSource: "host=127.0.0.1 port=1 user=u password='" + password + "' dbname=mayfly connect_timeout=5"},
			Want: opened, Kind: errs.Unavailable},
	})
}

// TestOpenCreatesDatabaseAndSchema starts several CAs together on a
// database that does not exist yet.
func TestOpenCreatesDatabaseAndSchema(t *testing.T) {
	t.Parallel()
	tg := newDatabase(t)
	open := func() (*Store, error) { return Open(context.Background(), tg.options()) }
	var conn *pgx.Conn // connected once the database exists
	db := func(t *testing.T) *pgx.Conn {
		if conn == nil {
			conn = tg.conn(t)
		}
		return conn
	}
	ctx := context.Background()
	sqltest.OpenCreatesSchema(t, open, latestVersion(), sqltest.Inspect{
		Versions: func(t *testing.T) []int {
			rows, err := db(t).Query(ctx, "SELECT version FROM mayfly_schema_migrations ORDER BY version")
			if err != nil {
				t.Fatalf("read migrations: %v", err)
			}
			versions, err := pgx.CollectRows(rows, pgx.RowTo[int])
			if err != nil {
				t.Fatalf("read migrations: %v", err)
			}
			return versions
		},
		Indexes: func(t *testing.T, table, index string) int {
			var n int
			if err := db(t).QueryRow(ctx, `SELECT count(*) FROM pg_indexes
				WHERE schemaname = current_schema() AND tablename = $1 AND indexname = $2`, table, index).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		},
		IndexColumns: func(t *testing.T, serial string, notAfter time.Time) (string, string) {
			var subject, provisioner string
			if err := db(t).QueryRow(ctx, "SELECT subject, provisioner FROM x509_certs WHERE serial = $1 AND not_after = $2",
				serial, notAfter).Scan(&subject, &provisioner); err != nil {
				t.Fatalf("select the stored row: %v", err)
			}
			return subject, provisioner
		},
	})
}

func TestOpenRefusesSchemas(t *testing.T) {
	t.Parallel()
	sqltest.RefusesSchemas(t, []sqltest.RefusedSchema{
		{Name: "newer schema", Setup: []string{
			"CREATE TABLE mayfly_schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
			"INSERT INTO mayfly_schema_migrations (version) VALUES (1), (99)",
		}, Want: "schema version 99, newer than this Mayfly's"},
		{Name: "step-ca database", Setup: []string{
			"CREATE TABLE x509_certs (nkey bytea, nvalue bytea, PRIMARY KEY (nkey))",
		}, Want: "holds step-ca's tables"},
	}, func(t *testing.T) sqltest.SchemaTarget {
		tg := newSchema(t)
		openTest(t, tg).Close() // creates the tables
		conn := tg.conn(t)
		return sqltest.SchemaTarget{
			Name: tg.name(t),
			Exec: func(t *testing.T, stmt string) {
				if _, err := conn.Exec(context.Background(), stmt); err != nil {
					t.Fatalf("%s: %v", stmt, err)
				}
			},
			Open: func() error {
				s, err := Open(context.Background(), tg.options())
				if err == nil {
					s.Close()
				}
				return err
			},
		}
	})
}

func TestReadOnly(t *testing.T) {
	t.Parallel()
	tg := newDatabase(t)
	ro := tg.options()
	ro.ReadOnly = true
	sqltest.ReadOnly(t, sqltest.ReadOnlyDB[*Store]{
		Name:   tg.database,
		OpenRO: func() (*Store, error) { return Open(context.Background(), ro) },
		Create: func(t *testing.T) {
			if _, err := adminConn(t).Exec(context.Background(), "CREATE DATABASE "+tg.database); err != nil {
				t.Fatal(err)
			}
		},
		OpenRW: func(t *testing.T) *Store { return openTest(t, tg) },
	})
}

func TestRecordChecks(t *testing.T) {
	t.Parallel()
	s := openTest(t, newSchema(t))
	defer s.Close()
	sqltest.RecordChecks(t, s)
}

func TestRedactDSN(t *testing.T) {
	t.Parallel()
	tests := []struct{ dsn, secret string }{
		{"postgresql://user:pa55w0rd@host:5432/db", "pa55w0rd"},
		{"postgres://user:pa55w0rd@host:notaport/db?sslmode=disable", "pa55w0rd"},
		{"host=h password=pa55w0rd port=x", "pa55w0rd"},
		{"host=h password = 'pa 55\\'w0rd' port=x", "pa 55\\'w0rd"},
		{"host=h PASSWORD=pa55w0rd", "pa55w0rd"},
	}
	for _, tc := range tests {
		msg := redactDSN(tc.dsn, "cannot parse `"+tc.dsn+"`: bad")
		if strings.Contains(msg, tc.secret) || !strings.Contains(msg, "xxxxx") {
			t.Fatalf("redactDSN(%q) = %q, want the password replaced", tc.dsn, msg)
		}
	}
}
