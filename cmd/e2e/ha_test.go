package e2e

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	mysqldrv "github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// haServer is a SQL server two CAs share.
type haServer struct {
	name     string // for messages
	postgres bool
	admin    string // DSN the test uses to drop its database
	caDSN    string // ca.json db.dataSource
	typ      string // ca.json db.type
}

var (
	haPostgres = haServer{name: "PostgreSQL", postgres: true, typ: "postgresql",
		admin: "postgresql://postgres@127.0.0.1:5432/test?sslmode=disable",
		caDSN: "postgresql://postgres@127.0.0.1:5432/?sslmode=disable"}
	haMySQL = haServer{name: "MariaDB", typ: "mysql",
		admin: "root@tcp(127.0.0.1:3306)/test", caDSN: "root@tcp(127.0.0.1:3306)/"}
)

// open connects to the server's test database, skipping t when the server is
// unreachable (failing it when CI=true).
func (s haServer) open(t *testing.T) *sql.DB {
	t.Helper()
	var db *sql.DB
	if s.postgres {
		cfg, err := pgx.ParseConfig(s.admin)
		if err != nil {
			t.Fatal(err)
		}
		db = stdlib.OpenDB(*cfg)
	} else {
		cfg, err := mysqldrv.ParseDSN(s.admin)
		if err != nil {
			t.Fatal(err)
		}
		conn, err := mysqldrv.NewConnector(cfg)
		if err != nil {
			t.Fatal(err)
		}
		db = sql.OpenDB(conn)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s test server unreachable (CI=true): %v", s.name, err)
		}
		t.Skipf("%s test server unreachable, skipping: %v", s.name, err)
	}
	return db
}

// database returns a unique database name, dropped when t ends (after the
// CAs started later have stopped: cleanups run last-registered first).
func (s haServer) database(t *testing.T) string {
	t.Helper()
	admin := s.open(t)
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	name := "mayfly_ha_" + hex.EncodeToString(b)
	t.Cleanup(func() {
		defer admin.Close()
		drop := "DROP DATABASE IF EXISTS " + name
		if s.postgres {
			drop += " WITH (FORCE)"
		}
		if _, err := admin.ExecContext(context.Background(), drop); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})
	return name
}

// copyTree copies the regular files and directories under src to dst.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(target, info.Mode().Perm())
		}
		if !info.Mode().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, info.Mode().Perm())
	})
	if err != nil {
		t.Fatalf("copy %s to %s: %v", src, dst, err)
	}
}

// setAddress sets the "address" of the ca.json at path.
func setAddress(t *testing.T, path, addr string) {
	t.Helper()
	editConfig(t, path, func(cfg map[string]any) { cfg["address"] = addr })
}

// cloneCA copies a's STEPPATH to a new one for a second CA on the same
// keys and database (its paths in ca.json rewritten, its own loopback
// address), and returns its STEPPATH and URL.
func cloneCA(t *testing.T, a *testPKI) (string, string) {
	t.Helper()
	bPath := filepath.Join(t.TempDir(), "ca")
	copyTree(t, a.caPath, bPath)
	bConfig := filepath.Join(bPath, "config", "ca.json")
	text := strings.ReplaceAll(string(readFile(t, bConfig)), a.caPath, bPath)
	if err := os.WriteFile(bConfig, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	bAddr, bPort := freeAddr(t)
	setAddress(t, bConfig, bAddr)
	return bPath, "https://localhost:" + bPort
}

func TestHAPostgreSQL(t *testing.T) {
	t.Parallel()
	testHA(t, haPostgres)
}

func TestHAMySQL(t *testing.T) {
	t.Parallel()
	testHA(t, haMySQL)
}

// testHA runs two step-ca processes (A and B, one PKI, different addresses)
// on one database of srv and checks that a token used on A is refused on B,
// that a revocation made on A blocks renewal on B, and that each keeps
// serving while the other restarts.
func testHA(t *testing.T, srv haServer) {
	needBinaries(t)
	database := srv.database(t)
	a := initPKI(t)
	setDB(t, a.configPath(), map[string]any{"type": srv.typ, "dataSource": srv.caDSN, "database": database})

	bPath, bURL := cloneCA(t, a) // B: a copy of A's STEPPATH, its paths and address changed
	bConfig := filepath.Join(bPath, "config", "ca.json")

	caA := a.start(t)
	caB := startCA(t, bPath, a.pwFile)
	waitUntilAfterSecond(time.Now()) // tokens minted from now on postdate both starts
	u := a.client(t)                 // bootstrapped with A's URL
	pw := u.path("password.txt")

	t.Run("a token used on A is refused on B", func(t *testing.T) {
		tok := strings.TrimSpace(u.ok(t, "ca", "token", "tok.example.com", "--provisioner-password-file", pw).stdout)
		u.ok(t, "ca", "certificate", "tok.example.com", u.path("tok.crt"), u.path("tok.key"), "--token", tok)
		mark := caB.log.mark()
		u.fails(t, "ca", "certificate", "tok.example.com", u.path("tok2.crt"), u.path("tok2.key"), "--token", tok, "--ca-url", bURL)
		mustNotExist(t, u.path("tok2.crt"))
		caB.expectLog(t, mark, "token already used", "B refused the token used on A, but not for its reuse")
	})
	t.Run("a revocation made on A blocks renewal on B", func(t *testing.T) {
		crt, key := u.path("ren.crt"), u.path("ren.key")
		u.ok(t, "ca", "certificate", "ren.example.com", crt, key, "--provisioner-password-file", pw)
		u.ok(t, "ca", "renew", crt, key, "--force", "--ca-url", bURL) // B renews what A issued
		sn := readCerts(t, crt)[0].SerialNumber
		u.ok(t, "ca", "revoke", sn.String(), "--reasonCode", "KeyCompromise", "--provisioner-password-file", pw)
		mark := caB.log.mark()
		u.fails(t, "ca", "renew", crt, key, "--force", "--ca-url", bURL)
		caB.expectLog(t, mark, "revoked", "B refused the renewal, but not because the certificate is revoked")
	})
	t.Run("each serves while the other restarts", func(t *testing.T) {
		caA.stop(t)
		u.ok(t, "ca", "certificate", "b1.example.com", u.path("b1.crt"), u.path("b1.key"), "--provisioner-password-file", pw, "--ca-url", bURL)
		caA = a.start(t)
		waitUntilAfterSecond(time.Now())
		u.ok(t, "ca", "certificate", "a1.example.com", u.path("a1.crt"), u.path("a1.key"), "--provisioner-password-file", pw)

		caB.stop(t)
		u.ok(t, "ca", "certificate", "a2.example.com", u.path("a2.crt"), u.path("a2.key"), "--provisioner-password-file", pw)
		caB = startCA(t, bPath, a.pwFile)
		waitUntilAfterSecond(time.Now())
		u.ok(t, "ca", "certificate", "b2.example.com", u.path("b2.crt"), u.path("b2.key"), "--provisioner-password-file", pw, "--ca-url", bURL)
		// The restarted B still sees what A did while it was down.
		tok := strings.TrimSpace(u.ok(t, "ca", "token", "c.example.com", "--provisioner-password-file", pw).stdout)
		u.ok(t, "ca", "certificate", "c.example.com", u.path("c.crt"), u.path("c.key"), "--token", tok)
		u.fails(t, "ca", "certificate", "c.example.com", u.path("c2.crt"), u.path("c2.key"), "--token", tok, "--ca-url", bURL)
	})
	t.Run("a read-only standby serves reads and refuses writes", func(t *testing.T) {
		// A and B were restarted by the previous subtest, which stopped them
		// when it ended: A comes back as the primary, B as a standby.
		caB.kill()
		caA.kill()
		a.start(t)
		standby := launchCA(t, t, bPath, bConfig, "--password-file", a.pwFile, "--read-only")
		standby.waitLog(t, 0, "Serving HTTPS on")
		standby.expectLog(t, 0, "read-only (hot standby)", "the standby did not say it is read-only")
		u.ok(t, "ca", "health", "--ca-url", bURL)
		u.ok(t, "ca", "roots", u.path("roots.pem"), "--ca-url", bURL)
		mark := standby.log.mark()
		u.fails(t, "ca", "certificate", "s.example.com", u.path("s.crt"), u.path("s.key"), "--provisioner-password-file", pw, "--ca-url", bURL)
		mustNotExist(t, u.path("s.crt"))
		standby.expectLog(t, mark, "read-only", "the standby refused the certificate, but not because it is read-only")
		// The primary keeps issuing.
		u.ok(t, "ca", "certificate", "p.example.com", u.path("p.crt"), u.path("p.key"), "--provisioner-password-file", pw)
		standby.stop(t)

		// A standby never creates a database or tables: pointed at a
		// database that does not exist, it refuses to start.
		missing := database + "_missing"
		setDB(t, bConfig, map[string]any{"type": srv.typ, "dataSource": srv.caDSN, "database": missing})
		r := u.stepCA(bConfig, "--password-file", a.pwFile, "--read-only")
		if r.code != 1 || len(r.errorLines()) != 1 {
			t.Fatalf("read-only start on a missing database: want exit 1 and one error line, got %s", r)
		}
		var n int
		q := "SELECT count(*) FROM information_schema.schemata WHERE schema_name = ?"
		if srv.postgres {
			q = "SELECT count(*) FROM pg_database WHERE datname = $1"
		}
		admin := srv.open(t)
		defer admin.Close()
		if err := admin.QueryRowContext(context.Background(), q, missing).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Fatalf("the read-only start created database %s", missing)
		}
	})
}
