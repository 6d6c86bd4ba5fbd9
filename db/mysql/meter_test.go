package mysql

import (
	"testing"

	"github.com/mayfly-pki/mayfly/db/dbtest"
)

// Both write designs report: autocommit (one write per commit) and batched.
func TestCommitsAreMetered(t *testing.T) {
	t.Parallel()
	eachDesign(t, func(t *testing.T, committers int) {
		m := &dbtest.CommitMeter{}
		opts := testOptions(newDatabase(t))
		opts.Committers, opts.Meter = committers, m
		s := openWith(t, opts)
		defer s.Close()
		dbtest.CommitsAreMetered(t, s, m, "mysql")
	})
}
