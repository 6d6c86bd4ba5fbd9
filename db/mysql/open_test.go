package mysql

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mayfly-pki/mayfly/db/internal/sqltest"
	"github.com/mayfly-pki/mayfly/internal/errs"
)

// TestOpenErrors needs no server: nothing listens on 127.0.0.1:1.
func TestOpenErrors(t *testing.T) {
	t.Parallel()
	const password = "S3cret-Pa55word"
	opened := []string{"mysql database 127.0.0.1:1/mayfly: open:"}
	sqltest.OpenErrors(t, password, Open, []sqltest.OpenError[Options]{
		{Name: "empty DSN", Want: []string{"db.dataSource is empty"}, Kind: errs.Internal},
		{Name: "unparsable", Opts: Options{DataSource: "root:" + password + "@tcp(127.0.0.1:3306/x"},
			Want: []string{"invalid db.dataSource"}, Kind: errs.Internal},
		{Name: "unparsable parameter", Opts: Options{DataSource: "root:" + password + "@tcp(127.0.0.1:3306)/x?parseTime=maybe"},
			Want: []string{"invalid db.dataSource"}, Kind: errs.Internal},
		{Name: "no database", Opts: Options{DataSource: "root:" + password + "@tcp(127.0.0.1:1)/"},
			Want: []string{"no database named"}, Kind: errs.Internal},
		{Name: "unreachable", Opts: Options{DataSource: "root:" + password + "@tcp(127.0.0.1:1)/mayfly"},
			Want: opened, Kind: errs.Unavailable},
		{Name: "unreachable, database option wins", Opts: Options{DataSource: "root:" + password + "@tcp(127.0.0.1:1)/other", Database: "mayfly"},
			Want: opened, Kind: errs.Unavailable},
	})
}

// TestOpenCreatesDatabaseAndSchema starts several CAs together on a
// database that does not exist yet.
func TestOpenCreatesDatabaseAndSchema(t *testing.T) {
	t.Parallel()
	name := newDatabase(t)
	open := func() (*Store, error) { return Open(context.Background(), testOptions(name)) }
	db := dbConn(t, name)
	ctx := context.Background()
	sqltest.OpenCreatesSchema(t, open, latestVersion(), sqltest.Inspect{
		Versions: func(t *testing.T) []int {
			rows, err := db.QueryContext(ctx, "SELECT version FROM mayfly_schema_migrations ORDER BY version")
			if err != nil {
				t.Fatalf("read migrations: %v", err)
			}
			defer rows.Close()
			var versions []int
			for rows.Next() {
				var v int
				if err := rows.Scan(&v); err != nil {
					t.Fatal(err)
				}
				versions = append(versions, v)
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			return versions
		},
		Indexes: func(t *testing.T, table, index string) int {
			var n int
			if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM information_schema.statistics
				WHERE table_schema = DATABASE() AND table_name = ? AND index_name = ?`, table, index).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		},
		IndexColumns: func(t *testing.T, serial string, notAfter time.Time) (string, string) {
			var subject, provisioner string
			if err := db.QueryRowContext(ctx, "SELECT subject, provisioner FROM x509_certs WHERE serial = ? AND not_after = ?",
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
			"CREATE TABLE mayfly_schema_migrations (version INT NOT NULL PRIMARY KEY, applied_at DATETIME(6) NOT NULL)",
			"INSERT INTO mayfly_schema_migrations VALUES (1, UTC_TIMESTAMP(6)), (99, UTC_TIMESTAMP(6))",
		}, Want: "schema version 99, newer than this Mayfly's"},
		{Name: "step-ca database", Setup: []string{
			"CREATE TABLE x509_certs (nkey VARBINARY(255), nvalue BLOB, PRIMARY KEY (nkey))",
		}, Want: "holds step-ca's tables"},
	}, func(t *testing.T) sqltest.SchemaTarget {
		name := newDatabase(t)
		openTest(t, name).Close() // creates the database and its tables
		db := dbConn(t, name)
		return sqltest.SchemaTarget{
			Name: name,
			Exec: func(t *testing.T, stmt string) {
				if _, err := db.ExecContext(context.Background(), stmt); err != nil {
					t.Fatalf("%s: %v", stmt, err)
				}
			},
			Open: func() error {
				s, err := Open(context.Background(), testOptions(name))
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
	name := newDatabase(t)
	ro := testOptions(name)
	ro.ReadOnly = true
	sqltest.ReadOnly(t, sqltest.ReadOnlyDB[*Store]{
		Name:   name,
		OpenRO: func() (*Store, error) { return Open(context.Background(), ro) },
		Create: func(t *testing.T) {
			if _, err := adminDB(t).ExecContext(context.Background(), "CREATE DATABASE "+name); err != nil {
				t.Fatal(err)
			}
		},
		OpenRW: func(t *testing.T) *Store { return openTest(t, name) },
	})
}

func TestRecordChecks(t *testing.T) {
	t.Parallel()
	s := openTest(t, newDatabase(t))
	defer s.Close()
	sqltest.RecordChecks(t, s)
}

func TestRedactDSN(t *testing.T) {
	t.Parallel()
	tests := []struct{ dsn, secret string }{
		{"root:pa55w0rd@tcp(127.0.0.1:3306)/db", "pa55w0rd"},
		{"root:pa:55@w0rd@tcp(127.0.0.1:3306/db", "pa:55@w0rd"},
		{"step:pa55w0rd@unix(/run/mysqld.sock)/db?parseTime=x", "pa55w0rd"},
	}
	for _, tc := range tests {
		msg := redactDSN(tc.dsn, "invalid DSN "+tc.dsn)
		if strings.Contains(msg, tc.secret) || !strings.Contains(msg, "xxxxx") {
			t.Fatalf("redactDSN(%q) = %q, want the password replaced", tc.dsn, msg)
		}
	}
}
