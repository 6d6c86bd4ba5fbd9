package acme_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/mayfly-pki/mayfly/authority/acme"
)

// readyOrder returns a fixture's service with a ready order for a.test, and a
// CSR for it.
func readyOrder(t *testing.T) (*fixture, *acme.Order, *x509.CertificateRequest, *ecdsa.PrivateKey) {
	t.Helper()
	f := newFixture(t, openBadger(t), &fakeValidator{answer: func(context.Context, int) error { return nil }}, []time.Duration{}, 0)
	ctx := context.Background()
	o, err := f.svc.NewOrder(ctx, f.acc, acme.OrderRequest{
		Identifiers: []acme.Identifier{{Type: "dns", Value: "a.test"}}, Challenges: []string{"http-01"},
	})
	if err != nil {
		t.Fatal(err)
	}
	_, chs, err := f.svc.Authz(ctx, f.acc.ID, o.AuthorizationIDs[0])
	if err != nil {
		t.Fatal(err)
	}
	if ch := f.post(t, o.AuthorizationIDs[0], chs[0].ID); ch.Status != acme.StatusValid {
		t.Fatalf("challenge %s", ch.Status)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{DNSNames: []string{"a.test"}}, key)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		t.Fatal(err)
	}
	return f, o, csr, key
}

// signerWith issues a self-signed leaf whose Signed.Durable is durable.
func signerWith(key *ecdsa.PrivateKey, durable func(context.Context) error) acme.Signer {
	return func(_ context.Context, csr *x509.CertificateRequest, names []string, _, _ time.Time) (*acme.Signed, error) {
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: names[0]}, DNSNames: names,
			NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, csr.PublicKey, key)
		if err != nil {
			return nil, err
		}
		return &acme.Signed{Leaf: der, Serial: "7", Durable: durable}, nil
	}
}

// TestFinalizeWaitsForQueuedRecord: a signer that queued the certificate's
// record (Signed.Durable) is waited for after the order's write, and a
// record that failed keeps the certificate from the client.
func TestFinalizeWaitsForQueuedRecord(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	f, o, csr, key := readyOrder(t)
	calls := 0
	durable := func(ctx context.Context) error {
		calls++
		// Called once the order naming the certificate is written.
		got, err := f.svc.Order(ctx, f.acc.ID, o.ID)
		if err != nil || got.Status != acme.StatusValid || got.CertificateID == "" {
			t.Errorf("when Durable is called the order is %+v (%v), want valid with its certificate", got, err)
		}
		return nil
	}
	done, err := f.svc.Finalize(ctx, f.acc, o.ID, csr, signerWith(key, durable))
	if err != nil || done.Status != acme.StatusValid {
		t.Fatalf("finalize: %v %+v", err, done)
	}
	if calls != 1 {
		t.Fatalf("Durable called %d times, want 1", calls)
	}

	f2, o2, csr2, key2 := readyOrder(t)
	boom := errors.New("disk on fire")
	_, err = f2.svc.Finalize(ctx, f2.acc, o2.ID, csr2, signerWith(key2, func(context.Context) error { return boom }))
	if !errors.Is(err, boom) {
		t.Fatalf("finalize with a failed record: %v, want the store's error", err)
	}
}
