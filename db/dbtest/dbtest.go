// Package dbtest is the conformance suite of the authority's storage port
// (store.Store). Every backend's tests run it:
//
//	func TestConformance(t *testing.T) {
//		dbtest.Run(t, func(t *testing.T) store.Store { return openFresh(t) })
//	}
//
// Run covers the whole port; RunWithoutRevocation covers a backend without
// revocation (the in-memory store); RunPersistent adds restart checks for
// backends that keep data on disk. RunInventory and RunTokenPruning cover
// the optional store.Inventory and store.Maintainer (used-token pruning).
//
// Beyond store.Store's documented contract the suite requires: records are
// copied (callers may reuse their buffers), StoreCertificate of an existing
// serial replaces the record, a call with an already cancelled context
// returns an error wrapping context.Canceled and writes nothing, and after
// Close every method (Close included) returns an error of kind
// errs.Unavailable.
package dbtest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/internal/errs"
)

// Opener returns a new, empty store for one test. The suite closes it.
type Opener func(t *testing.T) store.Store

// Run runs the conformance suite against a backend implementing the whole
// port. Subtests run in parallel, each on its own store.
func Run(t *testing.T, open Opener) {
	t.Helper()
	run(t, open, true)
}

// RunWithoutRevocation runs the suite against a backend that answers Revoke
// and GetRevocation with errs.NotImplemented (the store used without a
// database), and checks that it does.
func RunWithoutRevocation(t *testing.T, open Opener) {
	t.Helper()
	run(t, open, false)
}

func run(t *testing.T, open Opener, revocation bool) {
	tests := []suiteTest[store.Store]{
		{"StoreAndGetCertificate", testStoreAndGetCertificate},
		{"GetCertificateNotFound", testGetCertificateNotFound},
		{"StoreCertificateOverwrites", testStoreCertificateOverwrites},
		{"UseTokenOnce", testUseTokenOnce},
		{"UseTokenConcurrentSameKey", testUseTokenConcurrentSameKey},
		{"UseTokenConcurrentManyKeys", testUseTokenConcurrentManyKeys},
		{"StoreCertificateConcurrent", testStoreCertificateConcurrent},
		{"CancelledContext", testCancelledContext},
		{"QueueCertificate", testQueueCertificate},
	}
	if revocation {
		tests = append(tests, []suiteTest[store.Store]{
			{"RevokeAndGetRevocation", testRevokeAndGet},
			{"GetRevocationNotFound", testGetRevocationNotFound},
			{"RevokeTwice", testRevokeTwice},
			{"RevokeConcurrentSameSerial", testRevokeConcurrent},
		}...)
	} else {
		tests = append(tests, suiteTest[store.Store]{"RevocationNotImplemented", testRevocationNotImplemented})
	}
	tests = append(tests, sshTests(revocation)...)
	runEach(t, tests, open)
	t.Run("UseAfterClose", func(t *testing.T) {
		t.Parallel()
		testUseAfterClose(t, open(t))
	})
}

// suiteTest is one test of a suite, run on a store of type S.
type suiteTest[S store.Store] struct {
	name string
	fn   func(t *testing.T, s S)
}

// runEach runs every test in a parallel subtest on a store of its own from
// open, which it closes afterwards.
func runEach[S store.Store](t *testing.T, tests []suiteTest[S], open func(t *testing.T) S) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := open(t)
			defer mustClose(t, s)
			tc.fn(t, s)
		})
	}
}

func mustClose(t *testing.T, s store.Store) {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// Serial returns the decimal test serial number i (offset so that it is
// never zero).
func Serial(i int) string { return strconv.Itoa(1_000_000 + i) }

func testStoreAndGetCertificate(t *testing.T, s store.Store) {
	ctx := context.Background()
	f := NewCertificates(t)
	want := f.New(t, Serial(1))
	if err := s.StoreCertificate(ctx, want); err != nil {
		t.Fatalf("StoreCertificate: %v", err)
	}
	got, err := s.GetCertificate(ctx, want.Serial)
	if err != nil {
		t.Fatalf("GetCertificate: %v", err)
	}
	if d := EqualCertificate(want, got); d != "" {
		t.Fatalf("GetCertificate: %s", d)
	}
	// The caller's buffers are not retained: changing them after the call
	// must not change the record.
	want.DER[len(want.DER)-1] ^= 0xff
	got2, err := s.GetCertificate(ctx, want.Serial)
	if err != nil {
		t.Fatalf("GetCertificate again: %v", err)
	}
	if got2.DER[len(got2.DER)-1] == want.DER[len(want.DER)-1] {
		t.Fatalf("store kept a reference to the caller's DER")
	}
}

// testQueueCertificate: a store.QueuedCertificates store checks the record
// at once, and commits a queued record no later than a write acknowledged
// after it; the wait then answers nil. Stores without it are skipped.
func testQueueCertificate(t *testing.T, s store.Store) {
	qs, ok := s.(store.QueuedCertificates)
	if !ok {
		t.Skip("the store does not queue certificates")
	}
	ctx := context.Background()
	f := NewCertificates(t)
	bad := f.New(t, Serial(30))
	bad.DER = nil
	if _, err := qs.QueueCertificate(ctx, bad); errs.KindOf(err) != errs.BadRequest {
		t.Fatalf("QueueCertificate without DER: %v, want a bad request", err)
	}
	if _, err := s.GetCertificate(ctx, bad.Serial); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the refused record was written: %v", err)
	}
	for i := range 20 {
		c := f.New(t, Serial(31+i))
		wait, err := qs.QueueCertificate(ctx, c)
		if err != nil {
			t.Fatalf("QueueCertificate: %v", err)
		}
		// A write acknowledged after the queue call commits the record
		// with it or after it.
		if err := s.UseToken(ctx, "after-"+c.Serial, []byte("t")); err != nil {
			t.Fatalf("UseToken: %v", err)
		}
		got, err := s.GetCertificate(ctx, c.Serial)
		if err != nil {
			t.Fatalf("queued record %d after a later acknowledged write: %v", i, err)
		}
		if d := EqualCertificate(c, got); d != "" {
			t.Fatalf("queued record %d: %s", i, d)
		}
		for range 2 {
			if err := wait(ctx); err != nil {
				t.Fatalf("wait: %v", err)
			}
		}
	}
}

func testGetCertificateNotFound(t *testing.T, s store.Store) {
	_, err := s.GetCertificate(context.Background(), Serial(404))
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetCertificate of a missing serial: err = %v, want ErrNotFound", err)
	}
}

func testStoreCertificateOverwrites(t *testing.T, s store.Store) {
	ctx := context.Background()
	f := NewCertificates(t)
	first := f.New(t, Serial(2))
	second := f.NewWithData(t, Serial(2), []byte("second"))
	for _, c := range []*store.Certificate{first, second} {
		if err := s.StoreCertificate(ctx, c); err != nil {
			t.Fatalf("StoreCertificate: %v", err)
		}
	}
	got, err := s.GetCertificate(ctx, second.Serial)
	if err != nil {
		t.Fatalf("GetCertificate: %v", err)
	}
	if d := EqualCertificate(second, got); d != "" {
		t.Fatalf("after a second StoreCertificate of the same serial: %s", d)
	}
}

func testUseTokenOnce(t *testing.T, s store.Store) {
	ctx := context.Background()
	steps := []struct {
		key     string
		wantErr error
	}{
		{"jti-a", nil},
		{"jti-a", store.ErrTokenUsed},
		{"jti-b", nil},
		{"jti-a", store.ErrTokenUsed},
		{"jti-b", store.ErrTokenUsed},
	}
	for i, st := range steps {
		err := s.UseToken(ctx, st.key, []byte("token."+st.key))
		if st.wantErr == nil && err != nil {
			t.Fatalf("step %d: UseToken(%s) = %v, want nil", i, st.key, err)
		}
		if st.wantErr != nil && !errors.Is(err, st.wantErr) {
			t.Fatalf("step %d: UseToken(%s) = %v, want %v", i, st.key, err, st.wantErr)
		}
	}
}

// Concurrently runs fn(i) for i in [0, n) on n goroutines released together,
// and returns the errors by i.
func Concurrently(n int, fn func(i int) error) []error {
	results := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			results[i] = fn(i)
		}()
	}
	close(start)
	wg.Wait()
	return results
}

// exactlyOne checks that exactly one error is nil and all others wrap want.
func exactlyOne(errList []error, want error) error {
	ok := 0
	for i, err := range errList {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, want):
			return fmt.Errorf("call %d: unexpected error %v", i, err)
		}
	}
	if ok != 1 {
		return fmt.Errorf("%d calls succeeded, want exactly 1", ok)
	}
	return nil
}

func testUseTokenConcurrentSameKey(t *testing.T, s store.Store) {
	errList := Concurrently(50, func(i int) error {
		return s.UseToken(context.Background(), "same-jti", []byte("token-"+strconv.Itoa(i)))
	})
	if err := exactlyOne(errList, store.ErrTokenUsed); err != nil {
		t.Fatalf("UseToken of one key from 50 goroutines: %v", err)
	}
	if err := s.UseToken(context.Background(), "same-jti", []byte("late")); !errors.Is(err, store.ErrTokenUsed) {
		t.Fatalf("UseToken after the race: %v, want ErrTokenUsed", err)
	}
}

func testUseTokenConcurrentManyKeys(t *testing.T, s store.Store) {
	const keys, callers = 10, 20
	errList := Concurrently(keys*callers, func(i int) error {
		return s.UseToken(context.Background(), "jti-"+strconv.Itoa(i%keys), []byte("t"))
	})
	for k := range keys {
		var perKey []error
		for i := k; i < len(errList); i += keys {
			perKey = append(perKey, errList[i])
		}
		if err := exactlyOne(perKey, store.ErrTokenUsed); err != nil {
			t.Fatalf("key jti-%d, %d concurrent callers: %v", k, callers, err)
		}
	}
}

func testStoreCertificateConcurrent(t *testing.T, s store.Store) {
	const writers, perWriter = 20, 10
	f := NewCertificates(t)
	certs := make([]*store.Certificate, writers*perWriter)
	for i := range certs {
		certs[i] = f.New(t, Serial(100+i))
	}
	errList := Concurrently(writers, func(w int) error {
		for i := w * perWriter; i < (w+1)*perWriter; i++ {
			if err := s.StoreCertificate(context.Background(), certs[i]); err != nil {
				return err
			}
		}
		return nil
	})
	for w, err := range errList {
		if err != nil {
			t.Fatalf("writer %d: StoreCertificate: %v", w, err)
		}
	}
	for _, want := range certs {
		got, err := s.GetCertificate(context.Background(), want.Serial)
		if err != nil {
			t.Fatalf("GetCertificate(%s): %v", want.Serial, err)
		}
		if d := EqualCertificate(want, got); d != "" {
			t.Fatalf("GetCertificate(%s): %s", want.Serial, d)
		}
	}
}

func testCancelledContext(t *testing.T, s store.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c := NewCertificates(t).New(t, Serial(3))
	calls := []struct {
		name string
		call func() error
	}{
		{"UseToken", func() error { return s.UseToken(ctx, "jti-cancelled", []byte("t")) }},
		{"StoreCertificate", func() error { return s.StoreCertificate(ctx, c) }},
		{"GetCertificate", func() error { _, err := s.GetCertificate(ctx, c.Serial); return err }},
		{"Revoke", func() error { return s.Revoke(ctx, NewRevocation(c.Serial, false)) }},
		{"GetRevocation", func() error { _, err := s.GetRevocation(ctx, c.Serial); return err }},
	}
	for _, tc := range calls {
		if err := tc.call(); !errors.Is(err, context.Canceled) {
			t.Fatalf("%s with a cancelled context: err = %v, want context.Canceled", tc.name, err)
		}
	}
	// Nothing was written by the refused calls.
	bg := context.Background()
	if err := s.UseToken(bg, "jti-cancelled", []byte("t")); err != nil {
		t.Fatalf("UseToken after a cancelled UseToken of the same key: %v", err)
	}
	if _, err := s.GetCertificate(bg, c.Serial); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetCertificate after a cancelled StoreCertificate: err = %v, want ErrNotFound", err)
	}
}

func testUseAfterClose(t *testing.T, s store.Store) {
	ctx := context.Background()
	c := NewCertificates(t).New(t, Serial(4))
	if err := s.StoreCertificate(ctx, c); err != nil {
		t.Fatalf("StoreCertificate: %v", err)
	}
	mustClose(t, s)
	calls := []struct {
		name string
		call func() error
	}{
		{"UseToken", func() error { return s.UseToken(ctx, "jti-closed", []byte("t")) }},
		{"StoreCertificate", func() error { return s.StoreCertificate(ctx, c) }},
		{"GetCertificate", func() error { _, err := s.GetCertificate(ctx, c.Serial); return err }},
		{"Revoke", func() error { return s.Revoke(ctx, NewRevocation(c.Serial, false)) }},
		{"GetRevocation", func() error { _, err := s.GetRevocation(ctx, c.Serial); return err }},
		{"Close", s.Close},
	}
	for _, tc := range calls {
		err := tc.call()
		if err == nil {
			t.Fatalf("%s after Close succeeded, want an error", tc.name)
		}
		if !errs.Is(err, errs.Unavailable) {
			t.Fatalf("%s after Close: err = %v (kind %v), want kind %v", tc.name, err, errs.KindOf(err), errs.Unavailable)
		}
	}
}

func testRevocationNotImplemented(t *testing.T, s store.Store) {
	ctx := context.Background()
	if err := s.Revoke(ctx, NewRevocation(Serial(5), true)); !errs.Is(err, errs.NotImplemented) {
		t.Fatalf("Revoke: err = %v (kind %v), want kind %v", err, errs.KindOf(err), errs.NotImplemented)
	}
	if _, err := s.GetRevocation(ctx, Serial(5)); !errs.Is(err, errs.NotImplemented) {
		t.Fatalf("GetRevocation: err = %v (kind %v), want kind %v", err, errs.KindOf(err), errs.NotImplemented)
	}
}
