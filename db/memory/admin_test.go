package memory

import (
	"testing"

	"github.com/mayfly-pki/mayfly/db/dbtest"
)

func TestAdminConformance(t *testing.T) {
	dbtest.RunAdmin(t, func(*testing.T) dbtest.AdminStore { return New() })
}
