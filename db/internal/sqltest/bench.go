package sqltest

import (
	"context"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/db/dbtest"
)

// BenchParallelism × GOMAXPROCS goroutines write in the parallel benchmarks
// (32 on a 2-CPU machine).
const BenchParallelism = 16

// BenchToken is the token the benchmarks record (without exp, as most
// benchmarks of UseToken elsewhere).
var BenchToken = []byte("eyJhbGciOiJFUzI1NiIsImtpZCI6IngifQ.eyJqdGkiOiJ4In0.c2lnbmF0dXJl")

// RunBench runs op serially (writers 0) or from writers goroutines and
// reports writes per commit (commits returns the store's count).
func RunBench(b *testing.B, commits func() int64, writers int, op func(i int64)) {
	b.Helper()
	var next atomic.Int64
	base := commits()
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
	if c := commits() - base; c > 0 {
		b.ReportMetric(float64(b.N)/float64(c), "writes/commit")
	}
}

// StoreCertificates returns the op storing certificate i (a ~400 B DER and
// its data JSON) in s.
func StoreCertificates(b *testing.B, s store.Store) func(int64) {
	tmpl := dbtest.NewCertificates(b).New(b, dbtest.Serial(0))
	return func(i int64) {
		c := *tmpl
		c.Serial = strconv.FormatInt(i, 10)
		if err := s.StoreCertificate(context.Background(), &c); err != nil {
			b.Fatalf("StoreCertificate: %v", err)
		}
	}
}

// UseTokens returns the op using token key i in s.
func UseTokens(b *testing.B, s store.Store) func(int64) {
	return func(i int64) {
		if err := s.UseToken(context.Background(), "jti-"+strconv.FormatInt(i, 10), BenchToken); err != nil {
			b.Fatalf("UseToken: %v", err)
		}
	}
}

// BenchWrite benchmarks op (StoreCertificates or UseTokens) from one
// writer ("serial") and from BenchParallelism×GOMAXPROCS writers
// ("parallel"), each on a store from open.
func BenchWrite[S Store](b *testing.B, open func(b *testing.B) S, commits func(S) int64,
	op func(*testing.B, store.Store) func(int64)) {
	b.Helper()
	for _, tc := range []struct {
		name    string
		writers int
	}{{"serial", 0}, {"parallel", BenchParallelism * runtime.GOMAXPROCS(0)}} {
		b.Run(tc.name, func(b *testing.B) {
			s := open(b)
			defer s.Close()
			RunBench(b, func() int64 { return commits(s) }, tc.writers, op(b, s))
		})
	}
}
