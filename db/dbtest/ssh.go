package dbtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/internal/errs"
)

// sshTests are the store.SSHStore tests, run when a backend implements it
// (every backend does).
func sshTests(revocation bool) []suiteTest[store.Store] {
	tests := []suiteTest[store.Store]{
		{"SSHStoreAndGetCertificate", withSSH(testSSHStoreAndGet)},
		{"SSHHostPrincipals", withSSH(testSSHHosts)},
		{"SSHScan", func(t *testing.T, s store.Store) { testSSHScan(t, s, revocation) }},
	}
	if revocation {
		tests = append(tests, suiteTest[store.Store]{"SSHRevoke", withSSH(testSSHRevoke)})
	} else {
		tests = append(tests, suiteTest[store.Store]{"SSHRevocationNotImplemented", withSSH(testSSHRevocationNotImplemented)})
	}
	return tests
}

func withSSH(fn func(t *testing.T, s store.SSHStore)) func(t *testing.T, s store.Store) {
	return func(t *testing.T, s store.Store) {
		ss, ok := s.(store.SSHStore)
		if !ok {
			t.Fatalf("%T does not implement store.SSHStore", s)
		}
		fn(t, ss)
	}
}

func sshCert(serial string, host bool, expiry time.Time, principals ...string) *store.SSHCertificate {
	return &store.SSHCertificate{Serial: serial, Wire: []byte("ssh-cert-" + serial), Host: host, Principals: principals, ValidBefore: expiry}
}

func testSSHStoreAndGet(t *testing.T, s store.SSHStore) {
	ctx := context.Background()
	exp := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	c := sshCert("9223372036854775809", false, exp, "alice", "alice@example.com")
	wire := c.Wire
	if err := s.StoreSSHCertificate(ctx, c); err != nil {
		t.Fatalf("StoreSSHCertificate: %v", err)
	}
	wire[0] = 'X' // the store kept a copy
	got, err := s.GetSSHCertificate(ctx, c.Serial)
	if err != nil {
		t.Fatalf("GetSSHCertificate: %v", err)
	}
	if got.Serial != c.Serial || !bytes.Equal(got.Wire, []byte("ssh-cert-"+c.Serial)) {
		t.Fatalf("GetSSHCertificate = %q %q", got.Serial, got.Wire)
	}
	if _, err := s.GetSSHCertificate(ctx, "42"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetSSHCertificate of an unknown serial: %v, want ErrNotFound", err)
	}
	// A user certificate names no host.
	hs, err := s.ListSSHHosts(ctx)
	if err != nil || len(hs) != 0 {
		t.Fatalf("ListSSHHosts after a user certificate = %v, %v; want none", hs, err)
	}
}

func testSSHHosts(t *testing.T, s store.SSHStore) {
	ctx := context.Background()
	exp1 := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	exp2 := exp1.Add(time.Hour)
	if err := s.StoreSSHCertificate(ctx, sshCert("101", true, exp1, "Web.Example.com", "10.0.0.1")); err != nil {
		t.Fatalf("StoreSSHCertificate: %v", err)
	}
	// A newer certificate of a principal replaces its row.
	if err := s.StoreSSHCertificate(ctx, sshCert("102", true, exp2, "db.example.com", "10.0.0.1")); err != nil {
		t.Fatalf("StoreSSHCertificate: %v", err)
	}
	hs, err := s.ListSSHHosts(ctx)
	if err != nil {
		t.Fatalf("ListSSHHosts: %v", err)
	}
	want := []store.SSHHost{
		{Principal: "10.0.0.1", Serial: "102", Expiry: exp2},
		{Principal: "db.example.com", Serial: "102", Expiry: exp2},
		{Principal: "web.example.com", Serial: "101", Expiry: exp1},
	}
	if len(hs) != len(want) {
		t.Fatalf("ListSSHHosts = %+v, want %+v", hs, want)
	}
	for i := range want {
		if hs[i].Principal != want[i].Principal || hs[i].Serial != want[i].Serial || !hs[i].Expiry.Equal(want[i].Expiry) {
			t.Fatalf("ListSSHHosts[%d] = %+v, want %+v", i, hs[i], want[i])
		}
	}
}

func testSSHRevoke(t *testing.T, s store.SSHStore) {
	ctx := context.Background()
	r := NewRevocation("7001", true)
	if err := s.RevokeSSH(ctx, r); err != nil {
		t.Fatalf("RevokeSSH: %v", err)
	}
	got, err := s.GetSSHRevocation(ctx, r.Serial)
	if err != nil {
		t.Fatalf("GetSSHRevocation: %v", err)
	}
	if d := EqualRevocation(r, got); d != "" {
		t.Fatalf("GetSSHRevocation: %s", d)
	}
	if err := s.RevokeSSH(ctx, NewRevocation("7001", false)); !errors.Is(err, store.ErrAlreadyRevoked) {
		t.Fatalf("second RevokeSSH: %v, want ErrAlreadyRevoked", err)
	}
	if _, err := s.GetSSHRevocation(ctx, "7002"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetSSHRevocation of an unrevoked serial: %v, want ErrNotFound", err)
	}
	// SSH and X.509 revocations are separate tables.
	if x, ok := s.(store.Store); ok {
		if _, err := x.GetRevocation(ctx, "7001"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("GetRevocation of an SSH serial: %v, want ErrNotFound", err)
		}
	}
	if err := s.RevokeSSH(ctx, NewRevocation("7003", false)); err != nil {
		t.Fatalf("RevokeSSH: %v", err)
	}
	list, err := s.ListSSHRevocations(ctx)
	if err != nil {
		t.Fatalf("ListSSHRevocations: %v", err)
	}
	seen := map[string]bool{}
	for _, l := range list {
		seen[l.Serial] = true
	}
	if len(list) != 2 || !seen["7001"] || !seen["7003"] {
		t.Fatalf("ListSSHRevocations = %d records %v, want 7001 and 7003", len(list), seen)
	}
}

func testSSHRevocationNotImplemented(t *testing.T, s store.SSHStore) {
	ctx := context.Background()
	if err := s.RevokeSSH(ctx, NewRevocation("7001", true)); !errs.Is(err, errs.NotImplemented) {
		t.Fatalf("RevokeSSH: %v, want NotImplemented", err)
	}
	if list, err := s.ListSSHRevocations(ctx); err != nil || len(list) != 0 {
		t.Fatalf("ListSSHRevocations = %v, %v; want none", list, err)
	}
}

// testSSHScan: store.SSHScanner lists every SSH certificate and revocation
// once, with its content, over several pages (more records than any
// backend's page of 500, serials of several lengths since Badger orders by
// length first), and stops at fn's error.
func testSSHScan(t *testing.T, s store.Store, revocation bool) {
	ctx := context.Background()
	ss, ok := s.(store.SSHStore)
	if !ok {
		t.Fatalf("%T does not implement store.SSHStore", s)
	}
	sc, ok := s.(store.SSHScanner)
	if !ok {
		t.Fatalf("%T does not implement store.SSHScanner", s)
	}
	scanCerts := func() map[string]string {
		t.Helper()
		got := map[string]string{}
		err := sc.SSHScanCertificates(ctx, func(c *store.SSHCertificate) error {
			if _, dup := got[c.Serial]; dup {
				return fmt.Errorf("serial %s listed twice", c.Serial)
			}
			got[c.Serial] = string(c.Wire)
			return nil
		})
		if err != nil {
			t.Fatalf("SSHScanCertificates: %v", err)
		}
		return got
	}
	scanRevocations := func() map[string]*store.Revocation {
		t.Helper()
		got := map[string]*store.Revocation{}
		err := sc.SSHScanRevocations(ctx, func(r *store.Revocation) error {
			if _, dup := got[r.Serial]; dup {
				return fmt.Errorf("serial %s listed twice", r.Serial)
			}
			got[r.Serial] = r
			return nil
		})
		if err != nil {
			t.Fatalf("SSHScanRevocations: %v", err)
		}
		return got
	}
	if got := scanCerts(); len(got) != 0 {
		t.Fatalf("SSHScanCertificates of an empty store listed %d records", len(got))
	}
	if got := scanRevocations(); len(got) != 0 {
		t.Fatalf("SSHScanRevocations of an empty store listed %d records", len(got))
	}

	const nCerts, nRevoked = 1100, 600
	exp := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	serial := func(i int) string { return strconv.Itoa(i * 7919) } // 1 to 7 digits
	var jobs []func() error
	for i := 1; i <= nCerts; i++ {
		c := sshCert(serial(i), i%3 == 0, exp, fmt.Sprintf("host%d.example.com", i))
		jobs = append(jobs, func() error { return ss.StoreSSHCertificate(ctx, c) })
	}
	if revocation {
		for i := 1; i <= nRevoked; i++ {
			r := NewRevocation(serial(i), i%2 == 0)
			jobs = append(jobs, func() error { return ss.RevokeSSH(ctx, r) })
		}
	}
	runJobs(t, jobs)

	certs := scanCerts()
	if len(certs) != nCerts {
		t.Fatalf("SSHScanCertificates listed %d certificates, want %d", len(certs), nCerts)
	}
	for i := 1; i <= nCerts; i++ {
		if w := certs[serial(i)]; w != "ssh-cert-"+serial(i) {
			t.Fatalf("SSHScanCertificates: serial %s has %q", serial(i), w)
		}
	}
	revs := scanRevocations()
	if !revocation {
		if len(revs) != 0 {
			t.Fatalf("SSHScanRevocations listed %d records of a store without revocations", len(revs))
		}
	} else {
		if len(revs) != nRevoked {
			t.Fatalf("SSHScanRevocations listed %d revocations, want %d", len(revs), nRevoked)
		}
		for i := 1; i <= nRevoked; i++ {
			if d := EqualRevocation(NewRevocation(serial(i), i%2 == 0), revs[serial(i)]); d != "" {
				t.Fatalf("SSHScanRevocations: serial %s: %s", serial(i), d)
			}
		}
	}

	// fn's error ends the scan and is returned.
	stop := errors.New("stop here")
	n := 0
	err := sc.SSHScanCertificates(ctx, func(*store.SSHCertificate) error {
		n++
		if n == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 3 {
		t.Fatalf("SSHScanCertificates with fn failing at the 3rd record: %v after %d calls, want %v after 3", err, n, stop)
	}
	if revocation {
		n = 0
		err = sc.SSHScanRevocations(ctx, func(*store.Revocation) error { n++; return stop })
		if !errors.Is(err, stop) || n != 1 {
			t.Fatalf("SSHScanRevocations with fn failing: %v after %d calls, want %v after 1", err, n, stop)
		}
	}
	// A cancelled context ends it with the context's error.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := sc.SSHScanCertificates(cctx, func(*store.SSHCertificate) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Fatalf("SSHScanCertificates with a cancelled context: %v, want context.Canceled", err)
	}
}

// runJobs runs jobs on 16 goroutines (so that backends with group commit
// share their syncs) and fails on the first error.
func runJobs(t *testing.T, jobs []func() error) {
	t.Helper()
	ch := make(chan func() error)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range ch {
				if err := j(); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	for _, j := range jobs {
		ch <- j
	}
	close(ch)
	wg.Wait()
	if first != nil {
		t.Fatal(first)
	}
}
