package badger

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"

	badgerdb "github.com/dgraph-io/badger/v4"

	"github.com/mayfly-pki/mayfly/db/dbtest"
	"github.com/mayfly-pki/mayfly/db/internal/steplayout"
)

// benchParallelism × GOMAXPROCS goroutines write in the parallel benchmarks
// (32 on a 2-CPU machine).
const benchParallelism = 16

// BenchmarkStoreCertificate measures one durable StoreCertificate (a ~400 B
// DER and its data JSON) by one writer and by many concurrent writers, which
// share group commits.
func BenchmarkStoreCertificate(b *testing.B) {
	tmpl := dbtest.NewCertificates(b).New(b, dbtest.Serial(0))
	run := func(b *testing.B, parallel bool) {
		s := openTest(b, b.TempDir())
		defer s.Close()
		var next atomic.Int64
		store1 := func() {
			c := *tmpl
			c.Serial = strconv.FormatInt(next.Add(1), 10)
			if err := s.StoreCertificate(context.Background(), &c); err != nil {
				b.Fatalf("StoreCertificate: %v", err)
			}
		}
		commits := s.commits.Load()
		b.ResetTimer()
		if parallel {
			b.SetParallelism(benchParallelism)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					store1()
				}
			})
		} else {
			for b.Loop() {
				store1()
			}
		}
		b.StopTimer()
		reportBatch(b, s, commits)
	}
	b.Run("serial", func(b *testing.B) { run(b, false) })
	b.Run("parallel", func(b *testing.B) { run(b, true) })
}

// BenchmarkUseToken measures one durable UseToken of a new key.
func BenchmarkUseToken(b *testing.B) {
	token := []byte("eyJhbGciOiJFUzI1NiIsImtpZCI6IngifQ.eyJqdGkiOiJ4In0.c2lnbmF0dXJl")
	run := func(b *testing.B, parallel bool) {
		s := openTest(b, b.TempDir())
		defer s.Close()
		var next atomic.Int64
		use := func() {
			key := "jti-" + strconv.FormatInt(next.Add(1), 10)
			if err := s.UseToken(context.Background(), key, token); err != nil {
				b.Fatalf("UseToken: %v", err)
			}
		}
		commits := s.commits.Load()
		b.ResetTimer()
		if parallel {
			b.SetParallelism(benchParallelism)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					use()
				}
			})
		} else {
			for b.Loop() {
				use()
			}
		}
		b.StopTimer()
		reportBatch(b, s, commits)
	}
	b.Run("serial", func(b *testing.B) { run(b, false) })
	b.Run("parallel", func(b *testing.B) { run(b, true) })
}

// reportBatch reports the mean number of writes per commit.
func reportBatch(b *testing.B, s *Store, before int64) {
	if c := s.commits.Load() - before; c > 0 {
		b.ReportMetric(float64(b.N)/float64(c), "writes/commit")
	}
}

// BenchmarkBaselineBadgerUpdate is what the store improves on: one
// db.Update per write with SyncWrites on, from one writer and from many.
// Badger's write goroutine batches concurrent transactions but syncs the
// WAL once per transaction, so concurrent writers do not share syncs.
func BenchmarkBaselineBadgerUpdate(b *testing.B) {
	run := func(b *testing.B, parallel bool) {
		db, err := badgerdb.Open(badgerdb.DefaultOptions(b.TempDir()).
			WithLogger(nil).WithSyncWrites(true).WithMemTableSize(testMemTableSize))
		if err != nil {
			b.Fatalf("open badger: %v", err)
		}
		defer db.Close()
		v := make([]byte, 1024)
		var next atomic.Int64
		update := func() {
			k := []byte("k" + strconv.FormatInt(next.Add(1), 10))
			if err := db.Update(func(txn *badgerdb.Txn) error { return txn.Set(k, v) }); err != nil {
				b.Fatalf("Update: %v", err)
			}
		}
		if parallel {
			b.SetParallelism(benchParallelism)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					update()
				}
			})
			return
		}
		for b.Loop() {
			update()
		}
	}
	b.Run("serial", func(b *testing.B) { run(b, false) })
	b.Run("parallel", func(b *testing.B) { run(b, true) })
}

// BenchmarkBaselineFsync measures this machine's write+fsync of 1 KiB, the
// floor of any durable write.
func BenchmarkBaselineFsync(b *testing.B) {
	f, err := os.Create(filepath.Join(b.TempDir(), "f"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 1024)
	for b.Loop() {
		if _, err := f.Write(buf); err != nil {
			b.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGetRevocationMiss measures the revocation check of a renewal (a
// serial that is not revoked) on a database holding 5,000 certificates and
// 100 revocations: "set" is GetRevocation, "read" the database lookup the
// revoked-serial set saves.
func BenchmarkGetRevocationMiss(b *testing.B) {
	ctx := context.Background()
	s := openTest(b, b.TempDir())
	defer s.Close()
	tmpl := dbtest.NewCertificates(b).New(b, dbtest.Serial(0))
	const n = 5000
	for i := range n {
		c := *tmpl
		c.Serial = dbtest.Serial(i)
		if err := s.StoreCertificate(ctx, &c); err != nil {
			b.Fatal(err)
		}
		if i%(n/100) == 0 {
			if err := s.Revoke(ctx, dbtest.NewRevocation(c.Serial, false)); err != nil {
				b.Fatal(err)
			}
		}
	}
	serial := dbtest.Serial(n/2 + 1) // stored, not revoked
	b.Run("set", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.GetRevocation(ctx, serial); err == nil {
				b.Fatal("found")
			}
		}
	})
	b.Run("read", func(b *testing.B) {
		k := recordKey(steplayout.TableRevokedCerts, serial)
		for b.Loop() {
			if err := s.view(func(txn *badgerdb.Txn) error {
				found, err := exists(txn, k)
				if found {
					b.Fatal("found")
				}
				return err
			}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
