package badger

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/mayfly-pki/mayfly/authority/store"
)

// BenchmarkListRevocations100k reads 100,000 revocations, as a CRL
// regeneration does (the signing is authority/crl's BenchmarkSign1M).
//
//	go test ./db/badger -run - -bench ListRevocations -benchtime 3x
func BenchmarkListRevocations100k(b *testing.B) {
	const n = 100_000
	s := openTest(b, b.TempDir())
	defer s.Close()
	ctx := context.Background()
	var wg sync.WaitGroup
	for w := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 64 {
				r := &store.Revocation{Serial: strconv.Itoa(1_000_000_000 + i), ReasonCode: i % 11, RevokedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour)}
				if err := s.Revoke(ctx, r); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.ResetTimer()
	for b.Loop() {
		count := 0
		if err := s.ListRevocations(ctx, time.Now(), func(*store.Revocation) error { count++; return nil }); err != nil {
			b.Fatal(err)
		}
		if count != n {
			b.Fatalf("listed %d, want %d", count, n)
		}
	}
}
