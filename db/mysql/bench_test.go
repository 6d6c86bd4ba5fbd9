package mysql

import (
	"strconv"
	"testing"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/db/internal/sqltest"
)

// benchStore opens a store on a fresh database with enough connections for
// every design compared below.
func benchStore(b *testing.B, committers int) *Store {
	b.Helper()
	opts := testOptions(newDatabase(b))
	opts.MaxConns = 70
	opts.Committers = committers
	return openWith(b, opts)
}

func commits(s *Store) int64 { return s.w.Commits() }

// BenchmarkStoreCertificate measures one committed StoreCertificate (a
// ~400 B DER and its data JSON) with the default options, from one writer
// and from sqltest.BenchParallelism×GOMAXPROCS writers.
func BenchmarkStoreCertificate(b *testing.B) {
	sqltest.BenchWrite(b, func(b *testing.B) *Store { return benchStore(b, 0) }, commits, sqltest.StoreCertificates)
}

// BenchmarkUseToken measures one committed UseToken of a new key.
func BenchmarkUseToken(b *testing.B) {
	sqltest.BenchWrite(b, func(b *testing.B) *Store { return benchStore(b, 0) }, commits, sqltest.UseTokens)
}

// BenchmarkDesign compares, at 16 and 64 concurrent writers, the default
// design (one autocommit statement per write on its own pooled connection,
// relying on InnoDB's group commit of redo log flushes) with group commit
// by 1, 2 and 4 committers. Run with -bench Design.
func BenchmarkDesign(b *testing.B) {
	ops := []struct {
		name string
		op   func(*testing.B, store.Store) func(int64)
	}{{"StoreCertificate", sqltest.StoreCertificates}, {"UseToken", sqltest.UseTokens}}
	designs := []struct {
		name       string
		committers int // 0: autocommit
	}{{"autocommit", 0}, {"committers=1", 1}, {"committers=2", 2}, {"committers=4", 4}}
	for _, o := range ops {
		for _, writers := range []int{16, 64} {
			for _, d := range designs {
				b.Run(o.name+"/writers="+strconv.Itoa(writers)+"/"+d.name, func(b *testing.B) {
					s := benchStore(b, d.committers)
					defer s.Close()
					sqltest.RunBench(b, s.w.Commits, writers, o.op(b, s))
				})
			}
		}
	}
}
