package dbtest

import (
	"bytes"
	"context"
	"errors"
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
