package mysql

import (
	"testing"

	"github.com/mayfly-pki/mayfly/db/dbtest"
	"github.com/mayfly-pki/mayfly/db/internal/sqltest"
)

func TestInventory(t *testing.T) {
	t.Parallel()
	eachDesign(t, func(t *testing.T, committers int) {
		dbtest.RunInventory(t, func(t *testing.T) dbtest.InventoryStore { return openFresh(t, committers) }, true)
	})
}

// TestInventoryNullNotAfter checks that a record stored without NotAfter
// (a NULL not_after column) is listed by its DER's NotAfter and never pruned.
func TestInventoryNullNotAfter(t *testing.T) {
	t.Parallel()
	s := openTest(t, newDatabase(t))
	defer s.Close()
	sqltest.InventoryNullNotAfter(t, s)
}
