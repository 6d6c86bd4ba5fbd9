package dbtest

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"

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
