package dbtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/internal/errs"
)

// RunACME runs the conformance suite of store.ACMEStore against a backend;
// open must return a store that implements it. Two stores from open2
// (when not nil) share one database: nonces are single use across them.
func RunACME(t *testing.T, open Opener) {
	t.Helper()
	tests := []suiteTest[store.Store]{
		{"PutGet", testACMEPutGet},
		{"FunctionErrorWritesNothing", testACMEFnError},
		{"ConsumeOnce", testACMEConsume},
		{"ConcurrentReadModifyWrite", testACMEIncrement},
		{"Limits", testACMELimits},
		{"OpaqueValues", testACMEOpaqueValues},
		{"Scan", testACMEScan},
		{"Put", testACMEPut},
	}
	runEach(t, tests, open)
}

func acmeStore(t *testing.T, s store.Store) store.ACMEStore {
	t.Helper()
	a, ok := s.(store.ACMEStore)
	if !ok {
		t.Fatalf("%T does not implement store.ACMEStore", s)
	}
	return a
}

// testACMEPut: a store.ACMEPutter writes and overwrites one record, checks
// the limits, and what it wrote can be consumed once. Others are skipped.
func testACMEPut(t *testing.T, s store.Store) {
	p, ok := s.(store.ACMEPutter)
	if !ok {
		t.Skip("the store has no ACMEPut")
	}
	ctx := context.Background()
	a := acmeStore(t, s)
	for _, v := range []string{`{"id":"n1","createdAt":"2026-12-07T00:00:00Z"}`, `{"id":"n1","createdAt":"2026-12-07T00:00:01Z"}`} {
		if err := p.ACMEPut(ctx, store.TableACMENonces, "n1", []byte(v)); err != nil {
			t.Fatalf("ACMEPut: %v", err)
		}
		got, err := a.ACMEGet(ctx, store.TableACMENonces, "n1")
		if err != nil || string(got) != v {
			t.Fatalf("ACMEGet after ACMEPut = %q, %v; want %q", got, err, v)
		}
	}
	if ok, err := a.ACMEConsume(ctx, store.TableACMENonces, "n1"); err != nil || !ok {
		t.Fatalf("consume a put nonce: %v %v", ok, err)
	}
	if err := p.ACMEPut(ctx, store.TableACMENonces, strings.Repeat("k", store.ACMEMaxKey+1), []byte("{}")); errs.KindOf(err) != errs.BadRequest {
		t.Fatalf("ACMEPut of an over-long key: %v, want a bad request", err)
	}
	if err := p.ACMEPut(ctx, "no_such_table", "k", []byte("{}")); err == nil {
		t.Fatal("ACMEPut to an unknown table succeeded")
	}
}

func testACMEPutGet(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := acmeStore(t, s)
	if _, err := a.ACMEGet(ctx, store.TableACMEOrders, "missing"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("ACMEGet of a missing key: %v, want ErrNotFound", err)
	}
	val := []byte(`{"id":"o1","status":"pending"}`)
	err := a.ACMEUpdate(ctx, func(tx store.ACMETx) error {
		if _, err := tx.Get(store.TableACMEOrders, "o1"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("tx.Get before Put: %v, want ErrNotFound", err)
		}
		tx.Put(store.TableACMEOrders, "o1", val)
		tx.Put(store.TableACMEKeyIndex, "thumb", []byte("acc1"))
		got, err := tx.Get(store.TableACMEOrders, "o1")
		if err != nil || !bytes.Equal(got, val) {
			t.Errorf("tx.Get after Put = %q, %v: a transaction reads its own writes", got, err)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("ACMEUpdate: %v", err)
	}
	val[0] = 'X' // the store kept its own copy
	got, err := a.ACMEGet(ctx, store.TableACMEOrders, "o1")
	if err != nil || string(got) != `{"id":"o1","status":"pending"}` {
		t.Fatalf("ACMEGet = %q, %v", got, err)
	}
	if got, err := a.ACMEGet(ctx, store.TableACMEKeyIndex, "thumb"); err != nil || string(got) != "acc1" {
		t.Fatalf("ACMEGet index = %q, %v", got, err)
	}
	// The same key in another table is another record.
	if _, err := a.ACMEGet(ctx, store.TableACMEAuthzs, "o1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("ACMEGet in another table: %v, want ErrNotFound", err)
	}
	err = a.ACMEUpdate(ctx, func(tx store.ACMETx) error {
		tx.Delete(store.TableACMEOrders, "o1")
		return nil
	})
	if err != nil {
		t.Fatalf("ACMEUpdate delete: %v", err)
	}
	if _, err := a.ACMEGet(ctx, store.TableACMEOrders, "o1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("ACMEGet after delete: %v, want ErrNotFound", err)
	}
}

func testACMEFnError(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := acmeStore(t, s)
	boom := errors.New("boom")
	err := a.ACMEUpdate(ctx, func(tx store.ACMETx) error {
		tx.Put(store.TableACMEAccounts, "a1", []byte("{}"))
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("ACMEUpdate returned %v, want the function's error", err)
	}
	if _, err := a.ACMEGet(ctx, store.TableACMEAccounts, "a1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a failed transaction wrote: %v", err)
	}
}

func testACMEConsume(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := acmeStore(t, s)
	const n = 20
	for i := range n {
		err := a.ACMEUpdate(ctx, func(tx store.ACMETx) error {
			tx.Put(store.TableACMENonces, "n"+strconv.Itoa(i), []byte("{}"))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	wins := map[string]int{}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range n {
				ok, err := a.ACMEConsume(ctx, store.TableACMENonces, "n"+strconv.Itoa((i+w)%n))
				if err != nil {
					t.Error(err)
					return
				}
				if ok {
					mu.Lock()
					wins["n"+strconv.Itoa((i+w)%n)]++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if len(wins) != n {
		t.Fatalf("%d nonces consumed, want %d", len(wins), n)
	}
	for k, c := range wins {
		if c != 1 {
			t.Fatalf("nonce %s consumed %d times", k, c)
		}
	}
	if ok, err := a.ACMEConsume(ctx, store.TableACMENonces, "never"); ok || err != nil {
		t.Fatalf("ACMEConsume of an absent key = %v, %v", ok, err)
	}
}

// testACMEIncrement: concurrent read-modify-write transactions of one
// record lose no update (the order state machine and the account order
// index depend on it).
func testACMEIncrement(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := acmeStore(t, s)
	const workers, each = 4, 10
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				err := a.ACMEUpdate(ctx, func(tx store.ACMETx) error {
					v, err := tx.Get(store.TableACMEAccountOrders, "acc")
					n := 0
					switch {
					case errors.Is(err, store.ErrNotFound):
					case err != nil:
						return err
					default:
						n, _ = strconv.Atoi(string(v))
					}
					tx.Put(store.TableACMEAccountOrders, "acc", []byte(strconv.Itoa(n+1)))
					return nil
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	v, err := a.ACMEGet(ctx, store.TableACMEAccountOrders, "acc")
	if err != nil || string(v) != strconv.Itoa(workers*each) {
		t.Fatalf("counter = %q, %v; want %d (a lost update)", v, err, workers*each)
	}
}

func testACMELimits(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := acmeStore(t, s)
	long := strings.Repeat("k", store.ACMEMaxKey+1)
	if _, err := a.ACMEGet(ctx, store.TableACMEOrders, long); !errs.Is(err, errs.BadRequest) {
		t.Fatalf("ACMEGet of a %d-byte key: %v, want BadRequest", len(long), err)
	}
	err := a.ACMEUpdate(ctx, func(tx store.ACMETx) error {
		tx.Put(store.TableACMEOrders, "big", make([]byte, store.ACMEMaxValue+1))
		return nil
	})
	if !errs.Is(err, errs.BadRequest) {
		t.Fatalf("ACMEUpdate of an oversized value: %v, want BadRequest", err)
	}
	if _, err := a.ACMEGet(ctx, store.TableACMEOrders, "big"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the oversized value was written: %v", err)
	}
}

// testACMEOpaqueValues: every table keeps any value as given, also one that
// is not JSON, lacks the fields a backend indexes, or holds them with the
// wrong type, a NUL or an out-of-range time (SQL backends extract columns
// from the JSON; extraction must never fail a write).
func testACMEOpaqueValues(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := acmeStore(t, s)
	long := strings.Repeat("x", 300)
	values := [][]byte{
		[]byte("not json {"),
		{},
		[]byte(`"a JSON string"`),
		[]byte(`[1,2,3]`),
		[]byte(`{}`),
		[]byte(`{"id":5,"status":["x"],"accountID":{"a":1},"expiresAt":"yesterday","createdAt":12,"leaf":"!!","key":{"kty":"nope"}}`),
		[]byte(`{"status":"pending\u0000x","accountID":"` + long + `","expiresAt":"0001-01-01T00:00:00Z","createdAt":"10000-01-01T00:00:00Z","leaf":"MAA="}`),
		{0xff, 0xfe, 0x00, 0x01},
	}
	for _, table := range store.ACMETables() {
		err := a.ACMEUpdate(ctx, func(tx store.ACMETx) error {
			for i, v := range values {
				tx.Put(table, "k"+strconv.Itoa(i), v)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("table %s: ACMEUpdate of opaque values: %v", table, err)
		}
		for i, v := range values {
			got, err := a.ACMEGet(ctx, table, "k"+strconv.Itoa(i))
			if err != nil || !bytes.Equal(got, v) {
				t.Fatalf("table %s: value %d = %q, %v; want %q", table, i, got, err, v)
			}
		}
	}
}

// testACMEScan: ACMEScan lists every record of one table once, with its
// value, over several pages, and stops at fn's error.
func testACMEScan(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := acmeStore(t, s)
	sc, ok := s.(store.ACMEScanner)
	if !ok {
		t.Fatalf("%T does not implement store.ACMEScanner", s)
	}
	scan := func(table string) map[string]string {
		t.Helper()
		got := map[string]string{}
		err := sc.ACMEScan(ctx, table, func(key string, value []byte) error {
			if _, dup := got[key]; dup {
				return fmt.Errorf("key %q listed twice", key)
			}
			got[key] = string(value)
			return nil
		})
		if err != nil {
			t.Fatalf("ACMEScan(%s): %v", table, err)
		}
		return got
	}
	if got := scan(store.TableACMEOrders); len(got) != 0 {
		t.Fatalf("ACMEScan of an empty table listed %d records", len(got))
	}
	// More records than a page of any backend (500), keys of several
	// lengths (Badger orders by length first).
	const n = 1234
	want := map[string]string{}
	for i := range n {
		key := strings.Repeat("o", 1+i%7) + strconv.Itoa(i)
		v, _ := json.Marshal(map[string]any{"id": key, "accountID": "acc" + strconv.Itoa(i%3), "status": "pending",
			"expiresAt": time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second)})
		want[key] = string(v)
	}
	keys := make([]string, 0, n)
	for k := range want {
		keys = append(keys, k)
	}
	for start := 0; start < n; start += 400 {
		err := a.ACMEUpdate(ctx, func(tx store.ACMETx) error {
			for _, k := range keys[start:min(start+400, n)] {
				tx.Put(store.TableACMEOrders, k, []byte(want[k]))
			}
			tx.Put(store.TableACMEAccountOrders, "acc0", []byte(`["o0"]`))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	got := scan(store.TableACMEOrders)
	if len(got) != n {
		t.Fatalf("ACMEScan listed %d orders, want %d", len(got), n)
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("ACMEScan: order %s = %q, want %q", k, got[k], v)
		}
	}
	if got := scan(store.TableACMEAccountOrders); len(got) != 1 || got["acc0"] != `["o0"]` {
		t.Fatalf("ACMEScan of the index table = %v", got)
	}
	stop := errors.New("stop")
	calls := 0
	err := sc.ACMEScan(ctx, store.TableACMEOrders, func(string, []byte) error {
		calls++
		if calls == 600 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || calls != 600 {
		t.Fatalf("ACMEScan after fn failed: %v after %d calls, want fn's error after 600", err, calls)
	}
	if err := sc.ACMEScan(ctx, "x509_certs", func(string, []byte) error { return nil }); err == nil {
		t.Fatal("ACMEScan of a table that is not an ACME table succeeded")
	}
}
