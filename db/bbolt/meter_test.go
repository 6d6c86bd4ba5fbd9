package bbolt

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/mayfly-pki/mayfly/db/dbtest"
)

func TestCommitsAreMetered(t *testing.T) {
	t.Parallel()
	m := &dbtest.CommitMeter{}
	s, err := Open(context.Background(), Options{Path: filepath.Join(t.TempDir(), "bolt.db"), Meter: m})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	dbtest.CommitsAreMetered(t, s, m, "bbolt")
}
