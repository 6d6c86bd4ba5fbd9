package memory

import (
	"testing"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/db/dbtest"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	dbtest.RunWithoutRevocation(t, func(*testing.T) store.Store { return New() })
}

func TestInventory(t *testing.T) {
	t.Parallel()
	dbtest.RunInventory(t, func(*testing.T) dbtest.InventoryStore { return New() }, false)
}

func TestACMEConformance(t *testing.T) {
	t.Parallel()
	dbtest.RunACME(t, func(*testing.T) store.Store { return New() })
}
