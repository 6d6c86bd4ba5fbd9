package authority_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mayfly-pki/mayfly/authority"
	at "github.com/mayfly-pki/mayfly/authority/authoritytest"
	"github.com/mayfly-pki/mayfly/authority/store"
)

// hintedStore is a Badger store with store.WriteHinter: it counts the
// requests announced and not yet done, and records that count at each
// waited-for write.
type hintedStore struct {
	store.Store
	active    atomic.Int64
	announced atomic.Int64 // ExpectWrite calls
	atWrites  []int64
}

func (s *hintedStore) ExpectWrite() func() {
	s.announced.Add(1)
	s.active.Add(1)
	return func() { s.active.Add(-1) }
}

func (s *hintedStore) StoreCertificate(ctx context.Context, c *store.Certificate) error {
	s.atWrites = append(s.atWrites, s.active.Load())
	return s.Store.StoreCertificate(ctx, c)
}

func (s *hintedStore) Revoke(ctx context.Context, r *store.Revocation) error {
	s.atWrites = append(s.atWrites, s.active.Load())
	return s.Store.Revoke(ctx, r)
}

// TestWritesAreAnnounced checks that sign, renew, rekey and revoke announce
// themselves to a grouping store before they write and end the announcement
// when they return, also when they are refused.
func TestWritesAreAnnounced(t *testing.T) {
	t.Parallel()
	st := &hintedStore{Store: at.OpenBadger(t)}
	env := at.New(t, at.Options{Store: st})
	ctx := context.Background()
	check := func(what string, writes int) {
		t.Helper()
		if len(st.atWrites) != writes {
			t.Fatalf("%s: %d writes recorded, want %d", what, len(st.atWrites), writes)
		}
		if writes > 0 && st.atWrites[writes-1] != 1 {
			t.Fatalf("%s: %d announced requests at the write, want 1", what, st.atWrites[writes-1])
		}
		if n := st.active.Load(); n != 0 {
			t.Fatalf("%s: %d announcements left after the call returned", what, n)
		}
	}
	cert, _ := env.Issue(t, "hint.example.com", time.Hour)
	check("sign", 1)
	if _, err := env.Authority.Renew(ctx, cert); err != nil {
		t.Fatal(err)
	}
	check("renew", 2)
	key := at.NewKey(t)
	if _, err := env.Authority.Rekey(ctx, cert, at.NewCSR(t, at.CSR{CommonName: "hint.example.com", Key: key})); err != nil {
		t.Fatal(err)
	}
	check("rekey", 3)
	serial := cert.SerialNumber.String()
	if _, err := env.Authority.Revoke(ctx, &authority.RevokeRequest{Serial: serial, OTT: env.RevokeToken(t, serial)}); err != nil {
		t.Fatal(err)
	}
	check("revoke", 4)
	// Refused: a replayed token and a revoked certificate write nothing and
	// leave no announcement behind.
	csr := at.NewCSR(t, at.CSR{CommonName: "x.example.com", DNSNames: []string{"x.example.com"}, Key: key})
	ott := env.SignToken(t, "x.example.com")
	if _, err := env.Authority.Sign(ctx, &authority.SignRequest{CSR: csr, OTT: ott}); err != nil {
		t.Fatal(err)
	}
	check("sign x", 5)
	if _, err := env.Authority.Sign(ctx, &authority.SignRequest{CSR: csr, OTT: ott}); err == nil {
		t.Fatal("replayed token accepted")
	}
	check("replayed sign", 5)
	if _, err := env.Authority.Renew(ctx, cert); err == nil {
		t.Fatal("revoked certificate renewed")
	}
	check("renew of a revoked certificate", 5)
}

// TestRefusedRequestsAreNotAnnounced checks that a request announces its
// write only once it is authorized: a batch of a grouping store never waits
// for a request that was refused (issue 15).
func TestRefusedRequestsAreNotAnnounced(t *testing.T) {
	t.Parallel()
	st := &hintedStore{Store: at.OpenBadger(t)}
	env := at.New(t, at.Options{Store: st})
	ctx := context.Background()
	cert, _ := env.Issue(t, "hint.example.com", time.Hour)
	base := st.announced.Load()
	refused := func(what string, err error) {
		t.Helper()
		if err == nil {
			t.Fatalf("%s: accepted", what)
		}
		if n := st.announced.Load(); n != base {
			t.Fatalf("%s (%v): %d writes announced, want none", what, err, n-base)
		}
	}
	csr := at.NewCSR(t, at.CSR{CommonName: "x.example.com", DNSNames: []string{"x.example.com"}})
	other := at.NewJWK(t, "admin")
	_, err := env.Authority.Sign(ctx, &authority.SignRequest{CSR: csr, OTT: other.Sign(t, env.SignClaims(t, "x.example.com"))})
	refused("sign with a foreign key", err)
	_, err = env.Authority.Sign(ctx, &authority.SignRequest{CSR: csr, OTT: "not.a.token"})
	refused("sign with a malformed token", err)
	serial := cert.SerialNumber.String()
	_, err = env.Authority.Revoke(ctx, &authority.RevokeRequest{Serial: serial, OTT: other.Sign(t, other.Claims(t, at.CAURL+"/1.0/revoke", serial, env.Clock.Now()))})
	refused("revoke with a foreign key", err)
	if _, err := env.Authority.Revoke(ctx, &authority.RevokeRequest{Serial: serial, OTT: env.RevokeToken(t, serial)}); err != nil {
		t.Fatal(err)
	}
	base = st.announced.Load()
	_, err = env.Authority.Renew(ctx, cert)
	refused("renew of a revoked certificate", err)
}
