package bbolt

import (
	"context"
	"path/filepath"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/mayfly-pki/mayfly/db/dbtest"
	"github.com/mayfly-pki/mayfly/db/internal/steplayout"
)

// benchParallelism × GOMAXPROCS goroutines write in the parallel benchmarks
// (32 on a 2-CPU machine).
const benchParallelism = 16

var benchToken = []byte("eyJhbGciOiJFUzI1NiIsImtpZCI6IngifQ.eyJqdGkiOiJ4In0.c2lnbmF0dXJl")

func benchStore(b *testing.B, delay time.Duration) *Store {
	b.Helper()
	s, err := Open(context.Background(), Options{Path: filepath.Join(b.TempDir(), "step.db"), MaxBatchDelay: delay})
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// runBench runs op serially (writers 0) or from writers goroutines.
func runBench(b *testing.B, writers int, op func(i int64)) {
	b.Helper()
	var next atomic.Int64
	b.ResetTimer()
	if writers > 0 {
		b.SetParallelism(max(1, writers/runtime.GOMAXPROCS(0)))
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				op(next.Add(1))
			}
		})
		return
	}
	for b.Loop() {
		op(next.Add(1))
	}
}

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
		if err := s.UseToken(context.Background(), "jti-"+strconv.FormatInt(i, 10), benchToken); err != nil {
			b.Fatalf("UseToken: %v", err)
		}
	}
}

// benchModes are one writer and benchParallelism×GOMAXPROCS writers.
func benchModes() []struct {
	name    string
	writers int
} {
	return []struct {
		name    string
		writers int
	}{{"serial", 0}, {"parallel", benchParallelism * runtime.GOMAXPROCS(0)}}
}

// BenchmarkStoreCertificate measures one durable StoreCertificate (a ~400 B
// DER and its data JSON) with the default options, from one writer and
// from benchParallelism×GOMAXPROCS writers.
func BenchmarkStoreCertificate(b *testing.B) {
	for _, m := range benchModes() {
		b.Run(m.name, func(b *testing.B) {
			s := benchStore(b, 0)
			defer s.Close()
			runBench(b, m.writers, storeCertificate(b, s))
		})
	}
}

// BenchmarkUseToken measures one durable UseToken of a new key.
func BenchmarkUseToken(b *testing.B) {
	for _, m := range benchModes() {
		b.Run(m.name, func(b *testing.B) {
			s := benchStore(b, 0)
			defer s.Close()
			runBench(b, m.writers, useToken(b, s))
		})
	}
}

// BenchmarkBatchDelay compares MaxBatchDelay values (the default 0: no
// wait, 200 µs, 1 ms) for one writer and for 16 and 64 concurrent writers.
// Run with -bench BatchDelay.
func BenchmarkBatchDelay(b *testing.B) {
	for _, delay := range []time.Duration{0, 200 * time.Microsecond, time.Millisecond} {
		for _, writers := range []int{0, 16, 64} {
			b.Run("delay="+delay.String()+"/writers="+strconv.Itoa(writers), func(b *testing.B) {
				s := benchStore(b, delay)
				defer s.Close()
				runBench(b, writers, storeCertificate(b, s))
			})
		}
	}
}

// BenchmarkBaselineUpdate is what the group committer improves on: one db.Update (one
// commit, one sync) per write of a 1 KiB value.
func BenchmarkBaselineUpdate(b *testing.B) {
	for _, writers := range []int{0, 16, 64} {
		b.Run("writers="+strconv.Itoa(writers), func(b *testing.B) {
			s := benchStore(b, 0)
			defer s.Close()
			v := make([]byte, 1024)
			runBench(b, writers, func(i int64) {
				err := s.db.Update(func(tx *bolt.Tx) error {
					return tx.Bucket([]byte(steplayout.TableCerts)).Put([]byte(strconv.FormatInt(i, 10)), v)
				})
				if err != nil {
					b.Fatalf("Update: %v", err)
				}
			})
		})
	}
}
