package authority_test

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"strconv"
	"testing"
	"time"

	"github.com/mayfly-pki/mayfly/authority"
	"github.com/mayfly-pki/mayfly/authority/authoritytest"
	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/db/memory"
)

// listedStore is an in-memory store whose SSH revocations are a fixed list.
type listedStore struct {
	*memory.Store
	revs []*store.Revocation
}

func (s *listedStore) ListSSHRevocations(context.Context) ([]*store.Revocation, error) {
	return s.revs, nil
}

// BenchmarkKRL100k builds the key revocation list of 100,000 revoked,
// unexpired SSH certificates from the store (list, decode, encode under
// the user and host keys), what a CA does at its first GET /ssh/krl and
// every minute after. Serving it afterwards reads nothing.
func BenchmarkKRL100k(b *testing.B) {
	revs := make([]*store.Revocation, 100_000)
	now := authoritytest.Epoch
	var buf [8]byte
	for i := range revs {
		_, _ = rand.Read(buf[:])
		revs[i] = &store.Revocation{Serial: strconv.FormatUint(binary.BigEndian.Uint64(buf[:]), 10), RevokedAt: now, ExpiresAt: now.Add(time.Hour)}
	}
	st := &listedStore{Store: memory.New(), revs: revs}
	ctx := context.Background()
	for b.Loop() {
		b.StopTimer()
		e := authoritytest.New(b, authoritytest.Options{AdminExtra: enableSSH, Store: st,
			SSH: &authority.SSHConfig{UserKey: authoritytest.NewKey(b), HostKey: authoritytest.NewKey(b)}})
		b.StartTimer()
		k, err := e.Authority.KRL(ctx)
		if err != nil || k.Count != len(revs) {
			b.Fatalf("KRL: %d serials, %v", k.Count, err)
		}
		// Served again: from memory.
		if again, _ := e.Authority.KRL(ctx); again != k {
			b.Fatal("second KRL call rebuilt the list")
		}
	}
}
