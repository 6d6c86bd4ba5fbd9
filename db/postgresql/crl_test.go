package postgresql

import (
	"testing"

	"github.com/mayfly-pki/mayfly/db/dbtest"
)

func TestCRLConformance(t *testing.T) {
	t.Parallel()
	dbtest.RunCRL(t, func(t *testing.T) dbtest.CRLStore { return openTest(t, newSchema(t)) },
		func(t *testing.T) (dbtest.CRLStore, dbtest.CRLStore) {
			tg := newSchema(t)
			return openTest(t, tg), openTest(t, tg)
		})
}
