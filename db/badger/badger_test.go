package badger

import (
	"context"
	"testing"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/db/dbtest"
)

// testMemTableSize keeps each test database's memtable (and its WAL file)
// small so that many can be open at once.
const testMemTableSize = minMemTableSize

func openTest(t testing.TB, dir string) *Store {
	t.Helper()
	s, err := Open(context.Background(), Options{Dir: dir, MemTableSize: testMemTableSize})
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	return s
}

func TestConformance(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T) store.Store { return openTest(t, t.TempDir()) })
}

func TestACMEConformance(t *testing.T) {
	t.Parallel()
	dbtest.RunACME(t, func(t *testing.T) store.Store { return openTest(t, t.TempDir()) })
}

func TestConformancePersistent(t *testing.T) {
	t.Parallel()
	dbtest.RunPersistent(t, func(t *testing.T, dir string) store.Store { return openTest(t, dir) })
}

func TestCRLConformance(t *testing.T) {
	t.Parallel()
	dbtest.RunCRL(t, func(t *testing.T) dbtest.CRLStore { return openTest(t, t.TempDir()) }, nil)
}

func TestAdminConformance(t *testing.T) {
	t.Parallel()
	dbtest.RunAdmin(t, func(t *testing.T) dbtest.AdminStore { return openTest(t, t.TempDir()) })
}
