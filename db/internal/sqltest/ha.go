package sqltest

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/db/dbtest"
	"github.com/mayfly-pki/mayfly/db/internal/sqlcommit"
	"github.com/mayfly-pki/mayfly/internal/errs"
)

// TwoInstances runs two stores (two CAs) on one database: concurrent
// UseToken of one key and Revoke of one serial succeed once in all, and
// each store reads what the other wrote.
func TwoInstances(t *testing.T, a, b store.Store) {
	t.Helper()
	stores := []store.Store{a, b}
	ctx := context.Background()

	for round := range 5 {
		key := "jti-" + strconv.Itoa(round)
		errList := dbtest.Concurrently(40, func(i int) error {
			return stores[i%2].UseToken(ctx, key, []byte("token"))
		})
		if n := Successes(t, errList, store.ErrTokenUsed); n != 1 {
			t.Fatalf("round %d: UseToken of one key from two stores: %d successes, want 1", round, n)
		}
	}

	serial := dbtest.Serial(7)
	errList := dbtest.Concurrently(40, func(i int) error {
		r := dbtest.NewRevocation(serial, true)
		r.Reason = "caller " + strconv.Itoa(i)
		return stores[i%2].Revoke(ctx, r)
	})
	if n := Successes(t, errList, store.ErrAlreadyRevoked); n != 1 {
		t.Fatalf("Revoke of one serial from two stores: %d successes, want 1", n)
	}

	want := dbtest.NewRevocation(dbtest.Serial(8), false)
	if err := a.Revoke(ctx, want); err != nil {
		t.Fatalf("Revoke on a: %v", err)
	}
	got, err := b.GetRevocation(ctx, want.Serial)
	if err != nil {
		t.Fatalf("GetRevocation on b of a's revocation: %v", err)
	}
	if d := dbtest.EqualRevocation(want, got); d != "" {
		t.Fatalf("GetRevocation on b: %s", d)
	}
	if err := b.Revoke(ctx, want); !errors.Is(err, store.ErrAlreadyRevoked) {
		t.Fatalf("Revoke on b of a serial revoked on a: %v, want ErrAlreadyRevoked", err)
	}
	c := dbtest.NewCertificates(t).New(t, dbtest.Serial(9))
	if err := b.StoreCertificate(ctx, c); err != nil {
		t.Fatalf("StoreCertificate on b: %v", err)
	}
	if gotC, err := a.GetCertificate(ctx, c.Serial); err != nil {
		t.Fatalf("GetCertificate on a of b's certificate: %v", err)
	} else if d := dbtest.EqualCertificate(c, gotC); d != "" {
		t.Fatalf("GetCertificate on a: %s", d)
	}
}

// RecoversFromKilledConnections kills every server connection of s with
// kill (as a server restart or failover does; kill returns how many it
// killed) and checks that the next operations succeed at once: a write
// whose connection broke before COMMIT and a read are retried on a fresh
// connection. Three rounds.
func RecoversFromKilledConnections(t *testing.T, s store.Store, kill func(t *testing.T) int) {
	t.Helper()
	ctx := context.Background()
	f := dbtest.NewCertificates(t)
	for round := range 3 {
		// Fill the pool with idle connections.
		errList := dbtest.Concurrently(8, func(i int) error {
			_, err := s.GetCertificate(ctx, dbtest.Serial(round*100+i))
			if errors.Is(err, store.ErrNotFound) {
				return nil
			}
			return err
		})
		for _, err := range errList {
			if err != nil {
				t.Fatalf("round %d: GetCertificate before killing: %v", round, err)
			}
		}
		killed := kill(t)
		if killed == 0 {
			t.Fatalf("round %d: the store had no connection to kill", round)
		}
		c := f.New(t, dbtest.Serial(round*100+50))
		r := dbtest.NewRevocation(c.Serial, true)
		steps := []struct {
			name string
			call func() error
		}{
			{"StoreCertificate", func() error { return s.StoreCertificate(ctx, c) }},
			{"GetCertificate", func() error { _, err := s.GetCertificate(ctx, c.Serial); return err }},
			{"UseToken", func() error { return s.UseToken(ctx, "jti-"+strconv.Itoa(round), []byte("t")) }},
			{"Revoke", func() error { return s.Revoke(ctx, r) }},
			{"GetRevocation", func() error { _, err := s.GetRevocation(ctx, c.Serial); return err }},
		}
		for _, st := range steps {
			if err := st.call(); err != nil {
				t.Fatalf("round %d (%d connections killed): %s: %v", round, killed, st.name, err)
			}
		}
	}
}

// DatabaseGone checks s after its database was dropped: a write and a read
// fail with errs.Unavailable, and their errors contain name (how the store
// names the database, e.g. "postgresql database 127.0.0.1:5432/x").
func DatabaseGone(t *testing.T, s store.Store, name string) {
	t.Helper()
	ctx := context.Background()
	calls := []struct {
		name string
		call func() error
	}{
		{"UseToken", func() error { return s.UseToken(ctx, "jti", []byte("t")) }},
		{"GetCertificate", func() error { _, err := s.GetCertificate(ctx, "1"); return err }},
	}
	for _, c := range calls {
		err := c.call()
		if !errs.Is(err, errs.Unavailable) {
			t.Fatalf("%s on a dropped database: %v (kind %v), want kind %v", c.name, err, errs.KindOf(err), errs.Unavailable)
		}
		if !strings.Contains(err.Error(), name) {
			t.Fatalf("%s: error %q does not name %s", c.name, err, name)
		}
	}
}

// GroupCommitShares checks that concurrent writers share transactions
// (commits returns the store's count) instead of committing one by one.
func GroupCommitShares(t *testing.T, s store.Store, commits func() int64) {
	t.Helper()
	const writers = 200
	// Arrival depends on the scheduler (a saturated machine can feed writers
	// one at a time): three tries, failing only if writes never shared.
	var n int64
	for try := 0; try < 3; try++ {
		base := commits()
		errList := dbtest.Concurrently(writers, func(i int) error {
			return s.UseToken(context.Background(), "jti-"+strconv.Itoa(try)+"-"+strconv.Itoa(i), []byte("t"))
		})
		for i, err := range errList {
			if err != nil {
				t.Fatalf("UseToken %d: %v", i, err)
			}
		}
		n = commits() - base
		t.Logf("try %d: %d concurrent writes, %d commits", try+1, writers, n)
		if n <= writers/2 {
			return
		}
	}
	t.Fatalf("%d concurrent writes used %d commits in each of 3 tries, want them shared (at most %d)", writers, n, writers/2)
}

// BatchIsolatesAFailingWrite hands c one batch in which a statement fails:
// that write gets the server's error (containing wantCode, and not of kind
// Unavailable: the server refused the statement), every other write is
// committed. useToken(key) returns the op of a UseToken of key; bad is an
// op of key "b" on used_ott that the server refuses.
func BatchIsolatesAFailingWrite[S any](t *testing.T, s store.Store, c *sqlcommit.Committer[S],
	useToken func(key string) sqlcommit.Op[S], bad sqlcommit.Op[S], wantCode string) {
	t.Helper()
	ctx := context.Background()
	badOp := sqlcommit.NewOp(bad)
	batch := []*sqlcommit.Op[S]{sqlcommit.NewOp(useToken("a")), badOp, sqlcommit.NewOp(useToken("c")), sqlcommit.NewOp(useToken("a"))}
	c.CommitBatch(batch)
	results := map[*sqlcommit.Op[S]]error{}
	for _, o := range batch {
		results[o] = o.Answer()
	}
	if err := results[badOp]; err == nil || errs.Is(err, errs.Unavailable) || !strings.Contains(err.Error(), wantCode) {
		t.Fatalf("failing write: %v (kind %v), want the server's error %s, not %v", err, errs.KindOf(err), wantCode, errs.Unavailable)
	}
	okA, usedA := 0, 0
	for _, o := range batch {
		if o == badOp {
			continue
		}
		switch err := results[o]; {
		case err == nil && o.Key == "a":
			okA++
		case errors.Is(err, store.ErrTokenUsed) && o.Key == "a":
			usedA++
		case err != nil:
			t.Fatalf("write %s: %v", o.Key, err)
		}
	}
	if okA != 1 || usedA != 1 {
		t.Fatalf("two writes of key a in one batch: %d succeeded, %d used; want 1 and 1", okA, usedA)
	}
	for _, key := range []string{"a", "c"} {
		if err := s.UseToken(ctx, key, []byte("t")); !errors.Is(err, store.ErrTokenUsed) {
			t.Fatalf("UseToken(%s) after the batch: %v, want ErrTokenUsed", key, err)
		}
	}
	if err := s.UseToken(ctx, "b", []byte("t")); err != nil {
		t.Fatalf("UseToken(b) after its failed write: %v", err)
	}
}
