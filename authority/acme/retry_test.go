package acme_test

import (
	"cmp"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/jackc/pgx/v5"

	"github.com/mayfly-pki/mayfly/authority/acme"
	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/db/badger"
	"github.com/mayfly-pki/mayfly/db/postgresql"
)

// failure is a validator error of an RFC 8555 problem type.
type failure struct{ typ, detail string }

func (f *failure) Error() string       { return f.detail }
func (f *failure) ProblemType() string { return f.typ }

// fakeValidator answers attempt n (1-based) with answer(ctx, n).
type fakeValidator struct {
	mu     sync.Mutex
	calls  int
	answer func(ctx context.Context, n int) error
}

func (v *fakeValidator) Validate(ctx context.Context, _ acme.ValidationRequest) error {
	v.mu.Lock()
	v.calls++
	n := v.calls
	v.mu.Unlock()
	return v.answer(ctx, n)
}

func (v *fakeValidator) Calls() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.calls
}

// failFirst fails the first k attempts with problem type typ, then succeeds.
func failFirst(k int, typ string) func(context.Context, int) error {
	return func(_ context.Context, n int) error {
		if n <= k {
			return &failure{typ: typ, detail: fmt.Sprintf("attempt %d failed", n)}
		}
		return nil
	}
}

// openBadger is a Badger store in a temporary directory.
func openBadger(t *testing.T) store.ACMEStore {
	t.Helper()
	s, err := badger.Open(context.Background(), badger.Options{Dir: t.TempDir(), MemTableSize: 16 << 20})
	if err != nil {
		t.Fatalf("badger.Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// openPostgres is a PostgreSQL store in its own schema of the machine's
// test database (or MAYFLY_TEST_POSTGRESQL_DSN's), dropped at the end, as
// db/postgresql's tests do. An unreachable server skips the test unless
// CI=true.
func openPostgres(t *testing.T) store.ACMEStore {
	t.Helper()
	dsn := cmp.Or(os.Getenv("MAYFLY_TEST_POSTGRESQL_DSN"), "postgres://postgres@127.0.0.1:5432/test?sslmode=disable")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, dsn)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL unreachable: %v", err)
		}
		t.Skipf("PostgreSQL unreachable: %v", err)
	}
	t.Cleanup(func() { admin.Close(context.Background()) })
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	schema := "mayfly_test_" + hex.EncodeToString(b)
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema %s: %v", schema, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	s, err := postgresql.Open(ctx, postgresql.Options{DataSource: dsn + sep + "search_path=" + schema})
	if err != nil {
		t.Fatalf("postgresql.Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// fixture is a service with one account and one order of one http-01
// challenge.
type fixture struct {
	svc   *acme.Service
	v     *fakeValidator
	acc   *acme.Account
	azID  string
	chID  string
	store store.ACMEStore
}

func newFixture(t *testing.T, st store.ACMEStore, v *fakeValidator, delays []time.Duration, maxPending int) *fixture {
	t.Helper()
	svc := acme.New(acme.Deps{Store: st, Validator: v, RetryDelays: delays, MaxPendingRetries: maxPending})
	t.Cleanup(svc.Close) // before the store closes (cleanups run last first)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	acc, _, err := svc.CreateAccount(context.Background(), &acme.Account{Key: &jose.JSONWebKey{Key: key.Public()}}, nil)
	if err != nil {
		t.Fatalf("create account: %v", err)
	}
	f := &fixture{svc: svc, v: v, acc: acc, store: st}
	f.azID, f.chID = f.newChallenge(t)
	return f
}

// newChallenge orders a.test and returns its authorization and challenge.
func (f *fixture) newChallenge(t *testing.T) (string, string) {
	t.Helper()
	ctx := context.Background()
	o, err := f.svc.NewOrder(ctx, f.acc, acme.OrderRequest{
		Identifiers: []acme.Identifier{{Type: "dns", Value: "a.test"}}, Challenges: []string{"http-01"},
	})
	if err != nil {
		t.Fatalf("new order: %v", err)
	}
	_, chs, err := f.svc.Authz(ctx, f.acc.ID, o.AuthorizationIDs[0])
	if err != nil || len(chs) != 1 {
		t.Fatalf("authz: %v, %d challenges", err, len(chs))
	}
	return o.AuthorizationIDs[0], chs[0].ID
}

func (f *fixture) post(t *testing.T, azID, chID string) *acme.Challenge {
	t.Helper()
	ch, err := f.svc.ValidateChallenge(context.Background(), f.acc, azID, chID, nil)
	if err != nil {
		t.Fatalf("validate challenge: %v", err)
	}
	return ch
}

// stored reads the challenge and its authorization from the store.
func (f *fixture) stored(t *testing.T, azID, chID string) (*acme.Authz, *acme.Challenge) {
	t.Helper()
	az, chs, err := f.svc.Authz(context.Background(), f.acc.ID, azID)
	if err != nil {
		t.Fatalf("read authz: %v", err)
	}
	for _, ch := range chs {
		if ch.ID == chID {
			return az, ch
		}
	}
	t.Fatalf("challenge %s not in authz %s", chID, azID)
	return nil, nil
}

// waitStatus polls the store until the challenge has status want, for at
// most 20 s, and returns it with its authorization read after it (Authz
// reads the authorization before its challenges, not atomically: once the
// challenge's transaction is seen, a new read sees all of it).
func (f *fixture) waitStatus(t *testing.T, azID, chID, want string) (*acme.Authz, *acme.Challenge) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, ch := f.stored(t, azID, chID)
		if ch.Status == want {
			return f.stored(t, azID, chID)
		}
		if time.Now().After(deadline) {
			t.Fatalf("challenge still %s (error %+v) after 20 s, want %s", ch.Status, ch.Error, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitFor polls cond until it holds, for at most 20 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

var short = []time.Duration{10 * time.Millisecond, 10 * time.Millisecond, 10 * time.Millisecond}

func stores() map[string]func(*testing.T) store.ACMEStore {
	return map[string]func(*testing.T) store.ACMEStore{"badger": openBadger, "postgresql": openPostgres}
}

// TestRetrySucceeds: a challenge whose first attempts fail with a
// retryable problem is processing (authorization pending, last error
// stored) and becomes valid, with its authorization, at a later attempt.
func TestRetrySucceeds(t *testing.T) {
	for name, open := range stores() {
		for _, typ := range []string{"connection", "dns", "tls"} {
			t.Run(name+"/"+typ, func(t *testing.T) {
				t.Parallel()
				v := &fakeValidator{answer: failFirst(2, typ)}
				f := newFixture(t, open(t), v, short, 0)
				ch := f.post(t, f.azID, f.chID)
				if ch.Status != acme.StatusProcessing || ch.Error == nil || ch.Error.Type != acme.ProblemPrefix+typ {
					t.Fatalf("after the first attempt: %s %+v, want processing with a %s error", ch.Status, ch.Error, typ)
				}
				az, _ := f.stored(t, f.azID, f.chID)
				if az.Status != acme.StatusPending && az.Status != acme.StatusValid {
					t.Fatalf("authorization %s while retrying, want pending", az.Status)
				}
				az, ch = f.waitStatus(t, f.azID, f.chID, acme.StatusValid)
				if az.Status != acme.StatusValid || ch.Error != nil || ch.ValidatedAt == "" {
					t.Fatalf("after the retries: authz %s, challenge error %+v validated %q", az.Status, ch.Error, ch.ValidatedAt)
				}
				if n := v.Calls(); n != 3 {
					t.Fatalf("validator called %d times, want 3", n)
				}
				waitFor(t, "the chain to end", func() bool { return f.svc.PendingRetries() == 0 })
			})
		}
	}
}

// TestRetryFinalProblems: a failure that is not retryable is final at once,
// as before: challenge and authorization invalid, no retry scheduled.
func TestRetryFinalProblems(t *testing.T) {
	for _, typ := range []string{"incorrectResponse", "unauthorized", "rejectedIdentifier", "malformed"} {
		t.Run(typ, func(t *testing.T) {
			t.Parallel()
			v := &fakeValidator{answer: failFirst(1, typ)}
			f := newFixture(t, openBadger(t), v, short, 0)
			ch := f.post(t, f.azID, f.chID)
			if ch.Status != acme.StatusInvalid || ch.Error == nil || ch.Error.Type != acme.ProblemPrefix+typ {
				t.Fatalf("challenge %s %+v, want invalid %s", ch.Status, ch.Error, typ)
			}
			if n := f.svc.PendingRetries(); n != 0 {
				t.Fatalf("%d retries pending after a final failure", n)
			}
			az, _ := f.stored(t, f.azID, f.chID)
			if az.Status != acme.StatusInvalid || az.Error == nil || az.Error.Type != acme.ProblemPrefix+typ {
				t.Fatalf("authorization %s %+v, want invalid %s", az.Status, az.Error, typ)
			}
			if n := v.Calls(); n != 1 {
				t.Fatalf("validator called %d times, want 1", n)
			}
		})
	}
	if acme.RetryableProblem(acme.IncorrectResponse) || !acme.RetryableProblem(acme.Connection) {
		t.Fatal("RetryableProblem: incorrectResponse must be final and connection retried")
	}
}

// TestRetryExhausted: when every attempt fails, the challenge and its
// authorization end invalid with the last attempt's error, after exactly
// 1 + len(RetryDelays) attempts; a retry failing with a final problem ends
// the chain at once.
func TestRetryExhausted(t *testing.T) {
	for name, open := range stores() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			v := &fakeValidator{answer: failFirst(100, "connection")}
			f := newFixture(t, open(t), v, short, 0)
			if ch := f.post(t, f.azID, f.chID); ch.Status != acme.StatusProcessing {
				t.Fatalf("after the first attempt: %s, want processing", ch.Status)
			}
			az, ch := f.waitStatus(t, f.azID, f.chID, acme.StatusInvalid)
			want := fmt.Sprintf("attempt %d failed", 1+len(short))
			if ch.Error == nil || ch.Error.Detail != want || ch.Error.Type != acme.ProblemPrefix+"connection" {
				t.Fatalf("challenge error %+v, want connection %q", ch.Error, want)
			}
			if az.Status != acme.StatusInvalid || az.Error == nil || az.Error.Detail != want {
				t.Fatalf("authorization %s %+v, want invalid with the last error", az.Status, az.Error)
			}
			waitFor(t, "the chain to end", func() bool { return f.svc.PendingRetries() == 0 })
			if n := v.Calls(); n != 1+len(short) {
				t.Fatalf("validator called %d times, want %d", n, 1+len(short))
			}
		})
	}
	t.Run("final problem at a retry", func(t *testing.T) {
		t.Parallel()
		v := &fakeValidator{answer: func(_ context.Context, n int) error {
			if n == 1 {
				return &failure{typ: "connection", detail: "refused"}
			}
			return &failure{typ: "incorrectResponse", detail: "wrong key authorization"}
		}}
		f := newFixture(t, openBadger(t), v, short, 0)
		f.post(t, f.azID, f.chID)
		_, ch := f.waitStatus(t, f.azID, f.chID, acme.StatusInvalid)
		if ch.Error == nil || ch.Error.Type != acme.ProblemPrefix+"incorrectResponse" {
			t.Fatalf("challenge error %+v, want incorrectResponse", ch.Error)
		}
		waitFor(t, "the chain to end", func() bool { return f.svc.PendingRetries() == 0 })
		if n := v.Calls(); n != 2 {
			t.Fatalf("validator called %d times, want 2", n)
		}
	})
}

// TestRetryBound: beyond MaxPendingRetries challenges being retried, a
// retryable failure is final at once.
func TestRetryBound(t *testing.T) {
	t.Parallel()
	v := &fakeValidator{answer: failFirst(100, "connection")}
	f := newFixture(t, openBadger(t), v, []time.Duration{time.Hour}, 2)
	var ids [][2]string
	for range 3 {
		az, ch := f.newChallenge(t)
		ids = append(ids, [2]string{az, ch})
	}
	for i, id := range ids[:2] {
		if ch := f.post(t, id[0], id[1]); ch.Status != acme.StatusProcessing {
			t.Fatalf("challenge %d: %s, want processing (under the bound)", i, ch.Status)
		}
	}
	if n := f.svc.PendingRetries(); n != 2 {
		t.Fatalf("%d retries pending, want 2", n)
	}
	if ch := f.post(t, ids[2][0], ids[2][1]); ch.Status != acme.StatusInvalid {
		t.Fatalf("third challenge: %s, want invalid (bound reached)", ch.Status)
	}
	if az, _ := f.stored(t, ids[2][0], ids[2][1]); az.Status != acme.StatusInvalid {
		t.Fatalf("third authorization: %s, want invalid", az.Status)
	}
}

// TestRetryNoDuplicateChain: a client POSTing again to a challenge being
// retried gets it back unchanged; no second attempt, no second chain.
func TestRetryNoDuplicateChain(t *testing.T) {
	t.Parallel()
	v := &fakeValidator{answer: failFirst(100, "connection")}
	f := newFixture(t, openBadger(t), v, []time.Duration{time.Hour}, 0)
	f.post(t, f.azID, f.chID)
	for range 3 {
		if ch := f.post(t, f.azID, f.chID); ch.Status != acme.StatusProcessing {
			t.Fatalf("second POST: %s, want processing", ch.Status)
		}
	}
	if n := v.Calls(); n != 1 {
		t.Fatalf("validator called %d times, want 1 (the chain's next attempt is an hour away)", n)
	}
	if n := f.svc.PendingRetries(); n != 1 {
		t.Fatalf("%d chains, want 1", n)
	}
	if d := f.svc.RetryAfter(&acme.Challenge{ID: f.chID}); d < 30*time.Minute {
		t.Fatalf("RetryAfter %v, want about an hour (the next attempt)", d)
	}
}

// TestRetryStopOnClose: Close cancels an attempt in progress and the
// scheduled ones, waits for them, and records nothing: the challenge stays
// processing, so that its client's next POST validates it again (as after
// a restart). After Close a retryable failure is final at once.
func TestRetryStopOnClose(t *testing.T) {
	t.Parallel()
	entered := make(chan struct{})
	canceled := make(chan error, 1)
	v := &fakeValidator{answer: func(ctx context.Context, n int) error {
		if n != 2 {
			return &failure{typ: "connection", detail: "refused"}
		}
		close(entered)
		<-ctx.Done()
		canceled <- ctx.Err()
		return &failure{typ: "connection", detail: "canceled"}
	}}
	st := openBadger(t)
	f := newFixture(t, st, v, short, 0)
	f.post(t, f.azID, f.chID)
	select {
	case <-entered:
	case <-time.After(20 * time.Second):
		t.Fatal("the retry never started")
	}
	closed := make(chan struct{})
	go func() { f.svc.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(20 * time.Second):
		t.Fatal("Close did not return")
	}
	if err := <-canceled; !errors.Is(err, context.Canceled) {
		t.Fatalf("the attempt's context: %v, want canceled", err)
	}
	if n := f.svc.PendingRetries(); n != 0 {
		t.Fatalf("%d retries pending after Close", n)
	}
	az, ch := f.stored(t, f.azID, f.chID)
	if ch.Status != acme.StatusProcessing || az.Status != acme.StatusPending {
		t.Fatalf("after Close: challenge %s, authz %s; want processing, pending", ch.Status, az.Status)
	}
	// A new service on the same store (a restarted CA) re-validates the
	// processing challenge when its client POSTs it.
	v2 := &fakeValidator{answer: failFirst(0, "")}
	svc2 := acme.New(acme.Deps{Store: st, Validator: v2, RetryDelays: short})
	t.Cleanup(svc2.Close)
	ch, err := svc2.ValidateChallenge(context.Background(), f.acc, f.azID, f.chID, nil)
	if err != nil || ch.Status != acme.StatusValid {
		t.Fatalf("POST after restart: %v %+v, want valid", err, ch)
	}
	// The closed service no longer schedules retries.
	az2, ch2 := f.newChallenge(t)
	if ch := f.post(t, az2, ch2); ch.Status != acme.StatusInvalid {
		t.Fatalf("after Close: %s, want invalid (no retries)", ch.Status)
	}
}

// TestRetryConcurrentPosts: two POSTs whose first attempts fail at the same
// time start one chain between them.
func TestRetryConcurrentPosts(t *testing.T) {
	t.Parallel()
	var both sync.WaitGroup
	both.Add(2)
	v := &fakeValidator{answer: func(_ context.Context, n int) error {
		if n <= 2 {
			both.Done()
			both.Wait() // both POSTs are validating
		}
		return &failure{typ: "connection", detail: fmt.Sprintf("attempt %d failed", n)}
	}}
	f := newFixture(t, openBadger(t), v, short, 0)
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			if ch, err := f.svc.ValidateChallenge(context.Background(), f.acc, f.azID, f.chID, nil); err != nil || ch.Status == acme.StatusValid {
				t.Errorf("POST: %v %+v", err, ch)
			}
		})
	}
	wg.Wait()
	f.waitStatus(t, f.azID, f.chID, acme.StatusInvalid)
	waitFor(t, "the chain to end", func() bool { return f.svc.PendingRetries() == 0 })
	f.svc.Close() // every chain has ended
	if n := v.Calls(); n != 2+len(short) {
		t.Fatalf("validator called %d times, want %d (two POSTs, one chain)", n, 2+len(short))
	}
}
