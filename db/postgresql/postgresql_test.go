package postgresql

import (
	"cmp"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/db/dbtest"
	"github.com/mayfly-pki/mayfly/db/internal/sqltest"
)

// The test server: the machine's PostgreSQL (trust auth, user postgres,
// database test), or MAYFLY_TEST_POSTGRESQL_DSN. Each test works in its own
// database, mayfly_test_<random>, dropped when the test ends.
const defaultTestDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

func testDSN() string { return cmp.Or(os.Getenv("MAYFLY_TEST_POSTGRESQL_DSN"), defaultTestDSN) }

// withParam adds key=value to a URL or key=value connection string.
func withParam(dsn, key, value string) string {
	if !strings.Contains(dsn, "://") {
		return dsn + " " + key + "=" + value
	}
	if strings.Contains(dsn, "?") {
		return dsn + "&" + key + "=" + value
	}
	return dsn + "?" + key + "=" + value
}

// adminConn connects to the test server's own database. An unreachable
// server skips the test, or fails it when CI=true.
func adminConn(t testing.TB) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, testDSN())
	if err != nil {
		sqltest.Unreachable(t, "PostgreSQL", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// target is where one test's store lives: its own schema in the test
// database (cheap: most tests) or its own database (tests of database
// creation, of dropping the database, of terminating its connections).
type target struct {
	dsn      string // test server DSN, with search_path for a schema
	database string // "" for the DSN's
}

// newSchema creates schema mayfly_test_<random> in the test database and
// drops it (with everything in it) when t ends.
func newSchema(t testing.TB) target {
	t.Helper()
	admin := adminConn(t)
	name := sqltest.RandomName(t)
	if _, err := admin.Exec(context.Background(), "CREATE SCHEMA "+name); err != nil {
		t.Fatalf("create test schema %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.Exec(ctx, "DROP SCHEMA "+name+" CASCADE"); err != nil {
			t.Errorf("drop test schema %s: %v", name, err)
		}
	})
	return target{dsn: withParam(testDSN(), "search_path", name)}
}

// newDatabase returns a fresh database name, not created yet (the store
// creates it), and drops the database when t ends.
func newDatabase(t testing.TB) target {
	t.Helper()
	admin := adminConn(t)
	name := sqltest.RandomName(t)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})
	return target{dsn: testDSN(), database: name}
}

// options are the options of a test store on tg: a small pool, so that
// many test stores fit in the server's max_connections.
func (tg target) options() Options {
	return Options{DataSource: withParam(tg.dsn, "pool_max_conns", "4"), Database: tg.database}
}

// name is how the store names tg in errors.
func (tg target) name(t testing.TB) string {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(tg.options().DataSource)
	if err != nil {
		t.Fatal(err)
	}
	db := cmp.Or(tg.database, cfg.ConnConfig.Database)
	return displayName(cfg.ConnConfig.Host, cfg.ConnConfig.Port, db)
}

func openTest(t testing.TB, tg target) *Store {
	t.Helper()
	return openWith(t, tg.options())
}

func openWith(t testing.TB, opts Options) *Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := Open(ctx, opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", opts.Database, err)
	}
	return s
}

// conn connects to tg directly (to inspect or change it).
func (tg target) conn(t testing.TB) *pgx.Conn {
	t.Helper()
	cfg, err := pgx.ParseConfig(tg.dsn)
	if err != nil {
		t.Fatal(err)
	}
	if tg.database != "" {
		cfg.Database = tg.database
	}
	conn, err := pgx.ConnectConfig(context.Background(), cfg)
	if err != nil {
		t.Fatalf("connect to the test database: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func TestConformance(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T) store.Store { return openTest(t, newSchema(t)) })
}

func TestACMEConformance(t *testing.T) {
	t.Parallel()
	dbtest.RunACME(t, func(t *testing.T) store.Store { return openTest(t, newSchema(t)) })
}

func TestConformancePersistent(t *testing.T) {
	t.Parallel()
	// "Close and reopen" is a new pool on the same schema: the suite's
	// directory names the schema.
	schema := sqltest.PerDir(newSchema)
	dbtest.RunPersistent(t, func(t *testing.T, dir string) store.Store { return openTest(t, schema(t, dir)) })
}

func TestAdminConformance(t *testing.T) {
	t.Parallel()
	dbtest.RunAdmin(t, func(t *testing.T) dbtest.AdminStore { return openTest(t, newSchema(t)) })
}
