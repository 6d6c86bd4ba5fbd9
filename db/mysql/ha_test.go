package mysql

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/db/dbtest"
	"github.com/mayfly-pki/mayfly/internal/errs"
)

// concurrently runs fn(i) for i in [0, n) on n goroutines released
// together and returns the errors by i.
func concurrently(n int, fn func(i int) error) []error {
	errList := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errList[i] = fn(i)
		}()
	}
	close(start)
	wg.Wait()
	return errList
}

// successes counts nil errors; any error not wrapping want fails t.
func successes(t *testing.T, errList []error, want error) int {
	t.Helper()
	ok := 0
	for i, err := range errList {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, want):
			t.Fatalf("call %d: unexpected error %v", i, err)
		}
	}
	return ok
}

// TestTwoInstances runs two stores (two CAs) on one database.
func TestTwoInstances(t *testing.T) {
	t.Parallel()
	name := newDatabase(t)
	// One CA writes with autocommit statements, the other with group commit.
	batched := testOptions(name)
	batched.Committers = 2
	a, b := openTest(t, name), openWith(t, batched)
	defer a.Close()
	defer b.Close()
	stores := []*Store{a, b}
	ctx := context.Background()

	for round := range 5 {
		key := "jti-" + strconv.Itoa(round)
		errList := concurrently(40, func(i int) error {
			return stores[i%2].UseToken(ctx, key, []byte("token"))
		})
		if n := successes(t, errList, store.ErrTokenUsed); n != 1 {
			t.Fatalf("round %d: UseToken of one key from two stores: %d successes, want 1", round, n)
		}
	}

	serial := dbtest.Serial(7)
	errList := concurrently(40, func(i int) error {
		r := dbtest.NewRevocation(serial, true)
		r.Reason = "caller " + strconv.Itoa(i)
		return stores[i%2].Revoke(ctx, r)
	})
	if n := successes(t, errList, store.ErrAlreadyRevoked); n != 1 {
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

// TestRecoversFromKilledConnections kills every server connection of the
// store (as a server restart does) and checks that the next operations
// succeed at once, with and without group commit.
func TestRecoversFromKilledConnections(t *testing.T) {
	t.Parallel()
	for _, committers := range []int{0, 2} {
		t.Run("committers="+strconv.Itoa(committers), func(t *testing.T) {
			t.Parallel()
			testRecovery(t, committers)
		})
	}
}

func testRecovery(t *testing.T, committers int) {
	name := newDatabase(t)
	opts := testOptions(name)
	opts.Committers = committers
	s := openWith(t, opts)
	defer s.Close()
	admin := adminDB(t)
	ctx := context.Background()
	f := dbtest.NewCertificates(t)

	for round := range 3 {
		errList := concurrently(8, func(i int) error {
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
		rows, err := admin.QueryContext(ctx, "SELECT id FROM information_schema.processlist WHERE db = ?", name)
		if err != nil {
			t.Fatalf("list connections: %v", err)
		}
		var ids []int64
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if len(ids) == 0 {
			t.Fatalf("round %d: the store has no connection to kill", round)
		}
		for _, id := range ids {
			if _, err := admin.ExecContext(ctx, "KILL CONNECTION "+strconv.FormatInt(id, 10)); err != nil {
				t.Fatalf("kill connection %d: %v", id, err)
			}
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
				t.Fatalf("round %d (%d connections killed): %s: %v", round, len(ids), st.name, err)
			}
		}
	}
}

// TestDroppedDatabaseIsUnavailable drops the database under the store:
// operations fail with errs.Unavailable naming the database.
func TestDroppedDatabaseIsUnavailable(t *testing.T) {
	t.Parallel()
	name := newDatabase(t)
	s := openTest(t, name)
	defer s.Close()
	ctx := context.Background()
	if _, err := adminDB(t).ExecContext(ctx, "DROP DATABASE "+name); err != nil {
		t.Fatal(err)
	}
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
		if !strings.Contains(err.Error(), "mysql database ") || !strings.Contains(err.Error(), "/"+name) {
			t.Fatalf("%s: error %q does not name the database", c.name, err)
		}
	}
}

// TestGroupCommitSharesCommits checks that concurrent writers share
// transactions instead of committing one by one.
func TestGroupCommitSharesCommits(t *testing.T) {
	t.Parallel()
	opts := testOptions(newDatabase(t))
	opts.Committers = 1
	s := openWith(t, opts)
	defer s.Close()
	const writers = 200
	// Arrival depends on the scheduler (a saturated machine can feed writers
	// one at a time): three tries, failing only if writes never shared.
	var commits int64
	for try := 0; try < 3; try++ {
		base := s.commits.Load()
		errList := concurrently(writers, func(i int) error {
			return s.UseToken(context.Background(), "jti-"+strconv.Itoa(try)+"-"+strconv.Itoa(i), []byte("t"))
		})
		for i, err := range errList {
			if err != nil {
				t.Fatalf("UseToken %d: %v", i, err)
			}
		}
		commits = s.commits.Load() - base
		t.Logf("try %d: %d concurrent writes, %d commits", try+1, writers, commits)
		if commits <= writers/2 {
			return
		}
	}
	t.Fatalf("%d concurrent writes used %d commits in each of 3 tries, want them shared (at most %d)", writers, commits, writers/2)
}

// TestBatchIsolatesAFailingWrite hands the committer one batch in which a
// statement fails: that write gets its error (not Unavailable: the server
// refused the statement), every other write is committed.
func TestBatchIsolatesAFailingWrite(t *testing.T) {
	t.Parallel()
	s := openTest(t, newDatabase(t))
	defer s.Close()
	ctx := context.Background()
	bad, err := s.db.PrepareContext(ctx, "INSERT INTO used_ott (token_key, token) VALUES (?, NULL)")
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	good := func(key string) *op {
		return &op{what: "use token", table: "used_ott", key: key, stmt: s.stmts.useToken,
			args: []any{[]byte(key), []byte("t")}, conflict: store.ErrTokenUsed, done: make(chan error, 1)}
	}
	badOp := &op{what: "bad write", table: "used_ott", key: "b", stmt: bad, args: []any{[]byte("b")}, done: make(chan error, 1)}
	batch := []*op{good("a"), badOp, good("c"), good("a")}
	s.commit(batch)
	results := map[*op]error{}
	for _, o := range batch {
		results[o] = <-o.done
	}
	if err := results[badOp]; err == nil || errs.Is(err, errs.Unavailable) || !strings.Contains(err.Error(), "1048") {
		t.Fatalf("failing write: %v (kind %v), want the server's NOT NULL error, not %v", err, errs.KindOf(err), errs.Unavailable)
	}
	okA, usedA := 0, 0
	for _, o := range batch {
		if o == badOp {
			continue
		}
		switch err := results[o]; {
		case err == nil && o.key == "a":
			okA++
		case errors.Is(err, store.ErrTokenUsed) && o.key == "a":
			usedA++
		case err != nil:
			t.Fatalf("write %s: %v", o.key, err)
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
