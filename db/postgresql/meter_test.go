package postgresql

import (
	"testing"

	"github.com/mayfly-pki/mayfly/db/dbtest"
)

func TestCommitsAreMetered(t *testing.T) {
	t.Parallel()
	m := &dbtest.CommitMeter{}
	opts := newSchema(t).options()
	opts.Meter = m
	s := openWith(t, opts)
	defer s.Close()
	dbtest.CommitsAreMetered(t, s, m, "postgresql")
}
