package badger

import (
	"context"
	"testing"

	"github.com/mayfly-pki/mayfly/db/dbtest"
)

func TestCommitsAreMetered(t *testing.T) {
	t.Parallel()
	m := &dbtest.CommitMeter{}
	s, err := Open(context.Background(), Options{Dir: t.TempDir(), MemTableSize: 16 << 20, Meter: m})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	dbtest.CommitsAreMetered(t, s, m, "badger")
}
