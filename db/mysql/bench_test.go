package mysql

import (
	"context"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/mayfly-pki/mayfly/db/dbtest"
)

// benchParallelism × GOMAXPROCS goroutines write in the parallel benchmarks
// (32 on a 2-CPU machine).
const benchParallelism = 16

var benchToken = []byte("eyJhbGciOiJFUzI1NiIsImtpZCI6IngifQ.eyJqdGkiOiJ4In0.c2lnbmF0dXJl")

// benchStore opens a store on a fresh database with enough connections for
// every design compared below.
func benchStore(b *testing.B, committers int) *Store {
	b.Helper()
	opts := testOptions(newDatabase(b))
	opts.MaxConns = 70
	opts.Committers = committers
	return openWith(b, opts)
}

// runBench runs op serially (writers 0) or from writers goroutines and
// reports writes per commit.
func runBench(b *testing.B, s *Store, writers int, op func(i int64)) {
	b.Helper()
	var next atomic.Int64
	commits := s.commits.Load()
	b.ResetTimer()
	if writers > 0 {
		b.SetParallelism(max(1, writers/runtime.GOMAXPROCS(0)))
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				op(next.Add(1))
			}
		})
	} else {
		for b.Loop() {
			op(next.Add(1))
		}
	}
	b.StopTimer()
	if c := s.commits.Load() - commits; c > 0 {
		b.ReportMetric(float64(b.N)/float64(c), "writes/commit")
	}
}

// storeCertificate and useToken are the two writes measured.
func storeCertificate(b *testing.B, s *Store) func(int64) {
	tmpl := dbtest.NewCertificates(b).New(b, dbtest.Serial(0))
	return func(i int64) {
		c := *tmpl
		c.Serial = strconv.FormatInt(i, 10)
		if err := s.StoreCertificate(context.Background(), &c); err != nil {
			b.Fatalf("StoreCertificate: %v", err)
		}
	}
}

func useToken(b *testing.B, s *Store) func(int64) {
	return func(i int64) {
		key := "jti-" + strconv.FormatInt(i, 10)
		if err := s.UseToken(context.Background(), key, benchToken); err != nil {
			b.Fatalf("UseToken: %v", err)
		}
	}
}

// BenchmarkStoreCertificate measures one committed StoreCertificate (a
// ~400 B DER and its data JSON) with the default options, from one writer
// and from benchParallelism×GOMAXPROCS writers.
func BenchmarkStoreCertificate(b *testing.B) {
	for _, tc := range []struct {
		name    string
		writers int
	}{{"serial", 0}, {"parallel", benchParallelism * runtime.GOMAXPROCS(0)}} {
		b.Run(tc.name, func(b *testing.B) {
			s := benchStore(b, 0)
			defer s.Close()
			runBench(b, s, tc.writers, storeCertificate(b, s))
		})
	}
}

// BenchmarkUseToken measures one committed UseToken of a new key.
func BenchmarkUseToken(b *testing.B) {
	for _, tc := range []struct {
		name    string
		writers int
	}{{"serial", 0}, {"parallel", benchParallelism * runtime.GOMAXPROCS(0)}} {
		b.Run(tc.name, func(b *testing.B) {
			s := benchStore(b, 0)
			defer s.Close()
			runBench(b, s, tc.writers, useToken(b, s))
		})
	}
}

// BenchmarkDesign compares, at 16 and 64 concurrent writers, the default
// design (one autocommit statement per write on its own pooled connection,
// relying on InnoDB's group commit of redo log flushes) with group commit
// by 1, 2 and 4 committers. Run with -bench Design.
func BenchmarkDesign(b *testing.B) {
	ops := []struct {
		name string
		op   func(*testing.B, *Store) func(int64)
	}{{"StoreCertificate", storeCertificate}, {"UseToken", useToken}}
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
					runBench(b, s, writers, o.op(b, s))
				})
			}
		}
	}
}
