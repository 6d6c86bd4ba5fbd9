package mysql

import (
	"cmp"
	"context"
	"database/sql"
	"os"
	"sync/atomic"
	"testing"
	"time"

	mysqldrv "github.com/go-sql-driver/mysql"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/db/dbtest"
	"github.com/mayfly-pki/mayfly/db/internal/sqltest"
)

// The test server: the machine's MariaDB (root without password, database
// test), or MAYFLY_TEST_MYSQL_DSN. Each test works in its own database,
// mayfly_test_<random>, dropped when the test ends.
const defaultTestDSN = "root@tcp(127.0.0.1:3306)/test"

func testDSN() string { return cmp.Or(os.Getenv("MAYFLY_TEST_MYSQL_DSN"), defaultTestDSN) }

// adminDB connects to the test server. An unreachable server skips the
// test, or fails it when CI=true.
func adminDB(t testing.TB) *sql.DB {
	t.Helper()
	cfg, err := mysqldrv.ParseDSN(testDSN())
	if err != nil {
		t.Fatalf("test DSN: %v", err)
	}
	cfg.Timeout = 5 * time.Second
	connector, err := mysqldrv.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(connector)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		sqltest.Unreachable(t, "MySQL", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// newDatabase returns a fresh database name, not created yet (the store
// creates it), and drops the database when t ends.
func newDatabase(t testing.TB) string {
	t.Helper()
	admin := adminDB(t)
	name := sqltest.RandomName(t)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})
	return name
}

// displayName is how a store on the test server names database name in
// errors: host:port/name.
func displayName(t testing.TB, name string) string {
	t.Helper()
	cfg, err := mysqldrv.ParseDSN(testDSN())
	if err != nil {
		t.Fatalf("test DSN: %v", err)
	}
	return cfg.Addr + "/" + name
}

// testOptions are the options of a test store on database name, with few
// connections so that many test stores fit in max_connections.
func testOptions(name string) Options {
	return Options{DataSource: testDSN(), Database: name, MaxConns: 4}
}

// eachDesign runs fn in a parallel subtest for each write design: one
// autocommit statement per write (committers 0, the default) and group
// commit (committers 2).
func eachDesign(t *testing.T, fn func(t *testing.T, committers int)) {
	t.Helper()
	for _, d := range []struct {
		name       string
		committers int
	}{{"autocommit", 0}, {"batched", 2}} {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			fn(t, d.committers)
		})
	}
}

// openFresh opens a store on a new database with committers.
func openFresh(t testing.TB, committers int) *Store {
	t.Helper()
	opts := testOptions(newDatabase(t))
	opts.Committers = committers
	return openWith(t, opts)
}

func openTest(t testing.TB, name string) *Store {
	t.Helper()
	return openWith(t, testOptions(name))
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

// dbConn connects to test database name directly (to inspect it).
func dbConn(t testing.TB, name string) *sql.DB {
	t.Helper()
	cfg, err := mysqldrv.ParseDSN(testDSN())
	if err != nil {
		t.Fatal(err)
	}
	cfg.DBName = name
	cfg.ParseTime = true
	connector, err := mysqldrv.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(connector)
	t.Cleanup(func() { db.Close() })
	return db
}

func TestConformance(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T) store.Store { return openTest(t, newDatabase(t)) })
}

func TestACMEConformance(t *testing.T) {
	t.Parallel()
	dbtest.RunACME(t, func(t *testing.T) store.Store { return openTest(t, newDatabase(t)) })
}

// TestConformanceBatched runs the suite with group commit (Committers > 0).
func TestConformanceBatched(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T) store.Store { return openFresh(t, 2) })
}

func TestConformancePersistent(t *testing.T) {
	t.Parallel()
	// "Close and reopen" is a new pool on the same database: the suite's
	// directory names the database.
	database := sqltest.PerDir(newDatabase)
	var reopens atomic.Int64
	dbtest.RunPersistent(t, func(t *testing.T, dir string) store.Store {
		// Alternate the designs across reopens of one database.
		opts := testOptions(database(t, dir))
		opts.Committers = int(reopens.Add(1) % 2)
		return openWith(t, opts)
	})
}

func TestAdminConformance(t *testing.T) {
	t.Parallel()
	dbtest.RunAdmin(t, func(t *testing.T) dbtest.AdminStore { return openTest(t, newDatabase(t)) })
}
