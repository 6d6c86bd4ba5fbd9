package postgresql

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/mayfly-pki/mayfly/authority/acme"
)

type passValidator struct{}

func (passValidator) Validate(context.Context, acme.ValidationRequest) error { return nil }

// TestACMEFinalizeAcrossInstances: two CAs share the database (neither is
// the single writer, so the order is claimed in the database); eight
// finalizes of one ready order, split between them, sign exactly once and
// the others get orderNotReady.
func TestACMEFinalizeAcrossInstances(t *testing.T) {
	t.Parallel()
	tg := newSchema(t)
	sa, sb := openTest(t, tg), openTest(t, tg)
	defer sa.Close()
	defer sb.Close()
	a := acme.New(acme.Deps{Store: sa, Validator: passValidator{}})
	b := acme.New(acme.Deps{Store: sb, Validator: passValidator{}})
	ctx := context.Background()

	accKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	acc, _, err := a.CreateAccount(ctx, &acme.Account{Key: &jose.JSONWebKey{Key: &accKey.PublicKey}, Status: acme.StatusValid}, nil)
	if err != nil {
		t.Fatal(err)
	}
	o, err := a.NewOrder(ctx, acc, acme.OrderRequest{
		Identifiers: []acme.Identifier{{Type: "dns", Value: "ha.test"}}, Challenges: []string{"http-01"},
	})
	if err != nil {
		t.Fatal(err)
	}
	az, chs, err := b.Authz(ctx, acc.ID, o.AuthorizationIDs[0])
	if err != nil {
		t.Fatal(err)
	}
	if ch, err := b.ValidateChallenge(ctx, acc, az.ID, chs[0].ID, nil); err != nil || ch.Status != acme.StatusValid {
		t.Fatalf("challenge: %v %+v", err, ch)
	}

	certKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	csrDER, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{DNSNames: []string{"ha.test"}}, certKey)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := x509.ParseCertificateRequest(csrDER)
	if err != nil {
		t.Fatal(err)
	}
	var signs atomic.Int64
	sign := func(_ context.Context, csr *x509.CertificateRequest, names []string, _, _ time.Time) (*acme.Signed, error) {
		n := signs.Add(1)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(n), Subject: pkix.Name{CommonName: names[0]}, DNSNames: names,
			NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, csr.PublicKey, certKey)
		if err != nil {
			return nil, err
		}
		return &acme.Signed{Leaf: der, Serial: tmpl.SerialNumber.String()}, nil
	}
	var wg sync.WaitGroup
	var ok, notReady atomic.Int64
	errc := make(chan error, 8)
	for i := range 8 {
		svc := a
		if i%2 == 1 {
			svc = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := svc.Finalize(ctx, acc, o.ID, csr, sign)
			var p *acme.Error
			switch {
			case err == nil:
				ok.Add(1)
			case errors.As(err, &p) && p.Type == acme.OrderNotReady:
				notReady.Add(1)
			default:
				errc <- err
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Errorf("finalize: %v", err)
	}
	if ok.Load() != 1 || signs.Load() != 1 || notReady.Load() != 7 {
		t.Fatalf("%d finalizes succeeded, %d signed, %d orderNotReady; want 1, 1, 7", ok.Load(), signs.Load(), notReady.Load())
	}
	got, err := b.Order(ctx, acc.ID, o.ID)
	if err != nil || got.Status != acme.StatusValid || got.CertificateID == "" {
		t.Fatalf("order after finalize: %v %+v", err, got)
	}
}
