// Package sqltest holds the tests the SQL backends (db/postgresql,
// db/mysql) share beyond the conformance suites of db/dbtest: two CAs on
// one database, connections killed under the store, a database dropped
// under it, group commit, read-only (standby) stores, record checks, schema
// upgrades and benchmarks. Each backend's tests only provide what is
// specific to its server: how to reach it, create or drop a database, kill
// connections, and its own SQL.
package sqltest

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"sync"
	"testing"

	"github.com/mayfly-pki/mayfly/authority/store"
)

// Store is a SQL store with every optional port.
type Store interface {
	store.Store
	store.Inventory
	store.Maintainer
}

// Unreachable ends a test whose server (e.g. "PostgreSQL") cannot be
// reached: it is skipped, or fails when CI=true (SQL tests are mandatory
// there).
func Unreachable(t testing.TB, server string, err error) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s test server unreachable (CI=true): %v", server, err)
	}
	t.Skipf("%s test server unreachable, skipping: %v", server, err)
}

// RandomName returns a fresh database or schema name, mayfly_test_<16 hex>.
func RandomName(t testing.TB) string {
	t.Helper()
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "mayfly_test_" + hex.EncodeToString(b)
}

// Successes counts nil errors; any error not wrapping want fails t.
func Successes(t *testing.T, errList []error, want error) int {
	t.Helper()
	ok := 0
	for i, err := range errList {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, want):
			t.Fatalf("call %d: unexpected error %v", i, err)
		}
	}
	return ok
}

// PerDir returns, for dbtest.RunPersistent, a function that maps each of
// the suite's directories to one database (or schema) made by fresh on
// first use: reopening a store on the same directory reopens that database.
func PerDir[T any](fresh func(t testing.TB) T) func(t *testing.T, dir string) T {
	var (
		mu      sync.Mutex
		targets = map[string]T{}
	)
	return func(t *testing.T, dir string) T {
		mu.Lock()
		defer mu.Unlock()
		tg, ok := targets[dir]
		if !ok {
			tg = fresh(t)
			targets[dir] = tg
		}
		return tg
	}
}
