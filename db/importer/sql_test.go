package importer

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"testing"

	mysqldrv "github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	mayflydb "github.com/mayfly-pki/mayfly/db"
)

const (
	testPostgres = "postgresql://postgres@127.0.0.1:5432/test?sslmode=disable"
	testMySQL    = "root@tcp(127.0.0.1:3306)/test"
)

// unreachable skips the test, or fails it when CI=true.
func unreachable(t *testing.T, server string, err error) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s test server unreachable (CI=true): %v", server, err)
	}
	t.Skipf("%s test server unreachable, skipping: %v", server, err)
}

func uniqueName(t *testing.T) string {
	t.Helper()
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "importer_" + hex.EncodeToString(b)
}

// createDB creates a uniquely named database on the server of admin (which
// the test owns), dropped in t.Cleanup, and returns its name and a handle.
func createDB(t *testing.T, admin *sql.DB, postgres bool) (string, *sql.DB) {
	t.Helper()
	ctx := context.Background()
	name := uniqueName(t)
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	var db *sql.DB
	if postgres {
		cfg, err := pgx.ParseConfig(testPostgres)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Database = name
		db = stdlib.OpenDB(*cfg)
	} else {
		cfg, err := mysqldrv.ParseDSN(testMySQL)
		if err != nil {
			t.Fatal(err)
		}
		cfg.DBName = name
		conn, err := mysqldrv.NewConnector(cfg)
		if err != nil {
			t.Fatal(err)
		}
		db = sql.OpenDB(conn)
	}
	t.Cleanup(func() {
		db.Close()
		drop := "DROP DATABASE IF EXISTS " + name
		if postgres {
			drop += " WITH (FORCE)"
		}
		if _, err := admin.ExecContext(context.Background(), drop); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
		admin.Close()
	})
	return name, db
}

func adminDB(t *testing.T, postgres bool) *sql.DB {
	t.Helper()
	var db *sql.DB
	server := "MariaDB"
	if postgres {
		server = "PostgreSQL"
		cfg, err := pgx.ParseConfig(testPostgres)
		if err != nil {
			t.Fatal(err)
		}
		db = stdlib.OpenDB(*cfg)
	} else {
		cfg, err := mysqldrv.ParseDSN(testMySQL)
		if err != nil {
			t.Fatal(err)
		}
		conn, err := mysqldrv.NewConnector(cfg)
		if err != nil {
			t.Fatal(err)
		}
		db = sql.OpenDB(conn)
	}
	if err := db.PingContext(context.Background()); err != nil {
		db.Close()
		unreachable(t, server, err)
	}
	return db
}

// fillSQL creates step-ca's tables (wire-spec §6.2) in db and writes fx.
func fillSQL(t *testing.T, db *sql.DB, postgres bool, fx *fixture) {
	t.Helper()
	ctx := context.Background()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	fx.written = []string{tableCerts, tableCertsData, tableRevoked, "x509_crl", tableUsedOTT, "ssh_certs", "ssh_hosts", "ssh_host_principals", "revoked_ssh_certs"}
	for _, table := range fx.written {
		ddl := fmt.Sprintf("CREATE TABLE IF NOT EXISTS `%s`(nkey VARBINARY(255), nvalue BLOB, PRIMARY KEY (nkey))", table)
		if postgres {
			ddl = fmt.Sprintf(`CREATE TABLE IF NOT EXISTS "%s" (nkey BYTEA CHECK (octet_length(nkey) <= 255), nvalue BYTEA, PRIMARY KEY (nkey))`, table)
		}
		if _, err := tx.ExecContext(ctx, ddl); err != nil {
			t.Fatal(err)
		}
		ins := fmt.Sprintf("INSERT INTO `%s` (nkey, nvalue) VALUES (?, ?)", table)
		if postgres {
			ins = fmt.Sprintf(`INSERT INTO "%s" (nkey, nvalue) VALUES ($1, $2)`, table)
		}
		for k, v := range fx.tables[table] {
			if _, err := tx.ExecContext(ctx, ins, []byte(k), v); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

func TestImportSQL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		postgres bool
		from     func(db string) string
	}{
		{"postgresql", true, func(db string) string {
			return "postgresql:postgresql://postgres@127.0.0.1:5432/" + db + "?sslmode=disable"
		}},
		{"mysql", false, func(db string) string { return "mysql:root@tcp(127.0.0.1:3306)/" + db }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			name, db := createDB(t, adminDB(t, tc.postgres), tc.postgres)
			fx := newFixture(t, 1100, 5, 30) // more than one page of sqlPage
			fillSQL(t, db, tc.postgres, fx)
			importTwice(t, fx, func() Source {
				src, err := OpenStep(context.Background(), tc.from(name), StepOptions{})
				if err != nil {
					t.Fatal(err)
				}
				return src
			})
		})
	}
}

// TestImportIntoSQL imports step-ca's PostgreSQL tables into Mayfly's
// PostgreSQL and MySQL backends (opened with db.Open as step-ca db import
// does), each in a database of its own.
func TestImportIntoSQL(t *testing.T) {
	t.Parallel()
	name, db := createDB(t, adminDB(t, true), true)
	fx := newFixture(t, 300, 5, 30)
	fillSQL(t, db, true, fx)
	open := func() Source {
		src, err := OpenStep(context.Background(), "postgresql://postgres@127.0.0.1:5432/?sslmode=disable", StepOptions{Database: name})
		if err != nil {
			t.Fatal(err)
		}
		return src
	}
	for _, tc := range []struct {
		name     string
		postgres bool
		opts     func(db string) *mayflydb.Options
	}{
		{"postgresql", true, func(db string) *mayflydb.Options {
			return &mayflydb.Options{Type: "postgresql", DataSource: "postgresql://postgres@127.0.0.1:5432/?sslmode=disable", Database: db}
		}},
		{"mysql", false, func(db string) *mayflydb.Options {
			return &mayflydb.Options{Type: "mysql", DataSource: "root@tcp(127.0.0.1:3306)/", Database: db}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			target, _ := createDB(t, adminDB(t, tc.postgres), tc.postgres)
			dst, err := mayflydb.Open(context.Background(), tc.opts(target), nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { dst.Close() })
			importTwiceInto(t, dst, fx, open)
		})
	}
}

func TestImportSQLRefusesOtherLayouts(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		postgres bool
		setup    string
		from     func(db string) string
		want     string
	}{
		{"postgresql mayfly schema", true, "CREATE TABLE x509_certs (serial varchar(64) PRIMARY KEY, der bytea)",
			func(db string) string { return "postgresql://postgres@127.0.0.1:5432/" + db + "?sslmode=disable" }, "no nkey column"},
		{"postgresql empty", true, "",
			func(db string) string { return "postgres://postgres@127.0.0.1:5432/" + db + "?sslmode=disable" }, "table x509_certs not found"},
		{"mysql mayfly schema", false, "CREATE TABLE x509_certs (serial varchar(64) PRIMARY KEY, der blob)",
			func(db string) string { return "mysql:root@tcp(127.0.0.1:3306)/" + db }, "no nkey column"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			name, db := createDB(t, adminDB(t, tc.postgres), tc.postgres)
			if tc.setup != "" {
				if _, err := db.Exec(tc.setup); err != nil {
					t.Fatal(err)
				}
			}
			src, err := OpenStep(context.Background(), tc.from(name), StepOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			dst, _ := openBadger(t)
			_, err = Import(context.Background(), dst, src, Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), name) {
				t.Fatalf("Import = %v, want an error naming %s with %q", err, name, tc.want)
			}
		})
	}
}

func TestOpenStepHidesPassword(t *testing.T) {
	t.Parallel()
	const pw = "Sup3r-s3cret-pw"
	for _, from := range []string{
		"mysql:root:" + pw + "@tcp(127.0.0.1:1)/db",
		"postgresql://postgres:" + pw + "@127.0.0.1:1/db?sslmode=disable&connect_timeout=2",
		"mysql:root:" + pw + "@tcp(127.0.0.1:1/db", // invalid DSN
		"postgresql:postgresql://postgres:" + pw + "@[::1/db",
	} {
		_, err := OpenStep(context.Background(), from, StepOptions{})
		if err == nil {
			t.Fatalf("OpenStep(%q) succeeded", from)
		}
		if strings.Contains(err.Error(), pw) {
			t.Fatalf("error contains the password: %v", err)
		}
	}
}
