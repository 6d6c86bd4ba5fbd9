package mysql

import (
	"testing"

	"github.com/mayfly-pki/mayfly/db/dbtest"
)

func TestCRLConformance(t *testing.T) {
	t.Parallel()
	dbtest.RunCRL(t, func(t *testing.T) dbtest.CRLStore { return openFresh(t, 0) },
		func(t *testing.T) (dbtest.CRLStore, dbtest.CRLStore) {
			name := newDatabase(t)
			return openTest(t, name), openTest(t, name)
		})
}
