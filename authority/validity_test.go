package authority_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509/pkix"
	"testing"
	"time"

	"github.com/mayfly-pki/mayfly/authority"
	at "github.com/mayfly-pki/mayfly/authority/authoritytest"
	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/provisioner"
)

// TestSignIssuerWindow checks that no certificate outlives its issuer nor
// slips under the minimum duration once its window is fitted to the issuer
// (issue 14, item 1).
func TestSignIssuerWindow(t *testing.T) {
	t.Parallel()
	const life = 2 * time.Hour
	env := at.New(t, at.Options{InterLife: life})
	now := env.Clock.Now()
	inter := env.PKI.Intermediate
	expiry := inter.NotAfter.Format(time.RFC3339)
	rfc := func(t time.Time) string { return t.Format(time.RFC3339) }
	tests := []struct {
		name           string
		nb, na         string
		wantNB, wantNA time.Time
		kind           errs.Kind
		msg            string
	}{
		{name: "inverted far future", nb: "9999-12-31T23:00:00Z", na: "9999-12-31T23:59:59Z", kind: errs.BadRequest,
			msg: "The request could not be completed: requested notBefore 9999-12-31T23:00:00Z is after the issuer's expiry at " + expiry + "."},
		{name: "notAfter past the issuer", na: "3h", kind: errs.BadRequest,
			msg: "The request could not be completed: requested notAfter " + rfc(now.Add(3*time.Hour)) + " is after the issuer's expiry at " + expiry + "."},
		{name: "60s before the issuer's expiry", nb: rfc(inter.NotAfter.Add(-time.Minute)), na: "1h", kind: errs.BadRequest,
			msg: "The request could not be completed: requested notAfter " + rfc(inter.NotAfter.Add(59*time.Minute)) + " is after the issuer's expiry at " + expiry + "."},
		{name: "notBefore past the issuer, default notAfter", nb: rfc(inter.NotAfter.Add(time.Hour)), kind: errs.BadRequest,
			msg: "The request could not be completed: requested notBefore " + rfc(inter.NotAfter.Add(time.Hour)) + " is after the issuer's expiry at " + expiry + "."},
		{name: "notBefore at the issuer's expiry", nb: rfc(inter.NotAfter), kind: errs.BadRequest,
			msg: "The request could not be completed: requested notBefore " + expiry + " is after the issuer's expiry at " + expiry + "."},
		{name: "notBefore before the issuer's", nb: rfc(inter.NotBefore.Add(-time.Second)), na: rfc(now.Add(time.Hour)),
			wantNB: inter.NotBefore.Add(-time.Second), wantNA: now.Add(time.Hour)},
		{name: "ends at the issuer's expiry", na: rfc(inter.NotAfter), wantNB: now.Add(-time.Minute), wantNA: inter.NotAfter},
		{name: "default capped at the issuer", wantNB: now.Add(-time.Minute), wantNA: inter.NotAfter},
		{name: "default capped, explicit notBefore", nb: rfc(inter.NotAfter.Add(-10 * time.Minute)), wantNB: inter.NotAfter.Add(-10 * time.Minute), wantNA: inter.NotAfter},
		{name: "default capped under the minimum", nb: rfc(inter.NotAfter.Add(-time.Minute)), kind: errs.BadRequest,
			msg: "The request could not be completed: the issuer expires at " + expiry + ": a certificate from " + rfc(inter.NotAfter.Add(-time.Minute)) +
				" would be valid for 1m0s, less than the authorized minimum certificate duration of 5m0s."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req := &authority.SignRequest{
				CSR: at.NewCSR(t, at.CSR{CommonName: "w.example.com"}), OTT: env.SignToken(t, "w.example.com"),
				NotBefore: mustTD(t, tc.nb), NotAfter: mustTD(t, tc.na),
			}
			iss, err := env.Authority.Sign(ctx, req)
			if tc.kind != 0 {
				wantErr(t, err, tc.kind, tc.msg)
				return
			}
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			c := parse(t, iss.DER)
			if !c.NotBefore.Equal(tc.wantNB) || !c.NotAfter.Equal(tc.wantNA) {
				t.Fatalf("validity %v .. %v, want %v .. %v", c.NotBefore, c.NotAfter, tc.wantNB, tc.wantNA)
			}
		})
	}
}

// TestSignBackdateBeforeIssuer: right after `step ca init` the backdate
// reaches before the issuer's notBefore; as with step-ca it is kept.
func TestSignBackdateBeforeIssuer(t *testing.T) {
	t.Parallel()
	env := at.New(t, at.Options{})
	inter := env.PKI.Intermediate
	env.Clock.Set(inter.NotBefore.Add(20 * time.Second))
	now := env.Clock.Now()
	iss, err := env.Authority.Sign(ctx, &authority.SignRequest{CSR: at.NewCSR(t, at.CSR{}), OTT: env.SignToken(t, "b.example.com")})
	if err != nil {
		t.Fatal(err)
	}
	c := parse(t, iss.DER)
	if !c.NotBefore.Equal(now.Add(-time.Minute)) || !c.NotAfter.Equal(now.Add(24*time.Hour)) {
		t.Fatalf("validity %v .. %v, want now-1m .. now+24h", c.NotBefore, c.NotAfter)
	}
	if _, err := env.Authority.Renew(ctx, c); err != nil {
		t.Fatal(err)
	}
}

// TestRenewIssuerWindow: a renewal is capped at the issuer's expiry while the
// capped certificate still lasts the minimum duration, and refused after.
func TestRenewIssuerWindow(t *testing.T) {
	t.Parallel()
	env := at.New(t, at.Options{InterLife: 62 * time.Minute})
	cert, _ := env.Issue(t, "c.example.com", time.Hour)
	inter := env.PKI.Intermediate
	env.Clock.Add(56 * time.Minute)
	iss, err := env.Authority.Renew(ctx, cert)
	if err != nil {
		t.Fatal(err)
	}
	if c := parse(t, iss.DER); !c.NotAfter.Equal(inter.NotAfter) || c.NotAfter.Sub(c.NotBefore) != 7*time.Minute {
		t.Fatalf("validity %v .. %v, want 7m ending at the issuer's expiry", c.NotBefore, c.NotAfter)
	}
	env.Clock.Add(3 * time.Minute)
	now := env.Clock.Now()
	_, err = env.Authority.Renew(ctx, cert)
	wantErr(t, err, errs.BadRequest, "The request could not be completed: the issuer expires at "+inter.NotAfter.Format(time.RFC3339)+
		": a certificate from "+now.Add(-time.Minute).Format(time.RFC3339)+" would be valid for 4m0s, less than the authorized minimum certificate duration of 5m0s.")
	newKey := at.NewKey(t)
	_, err = env.Authority.Rekey(ctx, cert, at.NewCSR(t, at.CSR{Key: newKey}))
	wantErr(t, err, errs.BadRequest, "")

	// The provisioner's own minimum applies.
	short := at.New(t, at.Options{InterLife: 62 * time.Minute, AdminExtra: map[string]any{"claims": map[string]any{"minTLSCertDuration": "1m"}}})
	cert, _ = short.Issue(t, "s.example.com", time.Hour)
	short.Clock.Add(59 * time.Minute)
	if _, err := short.Authority.Renew(ctx, cert); err != nil {
		t.Fatalf("4m renewal with a 1m minimum: %v", err)
	}
}

// TestRenewAfterIssuerExpiry: past the issuer's expiry nothing renews, even
// with allowRenewalAfterExpiry (the cap used to invert the window).
func TestRenewAfterIssuerExpiry(t *testing.T) {
	t.Parallel()
	late := at.New(t, at.Options{InterLife: 2 * time.Hour, AdminExtra: map[string]any{"claims": map[string]any{"allowRenewalAfterExpiry": true}}})
	cert, _ := late.Issue(t, "l.example.com", time.Hour)
	late.Clock.Add(3 * time.Hour)
	_, err := late.Authority.Renew(ctx, cert)
	wantErr(t, err, errs.BadRequest, "The request could not be completed: the issuer expired at "+late.PKI.Intermediate.NotAfter.Format(time.RFC3339)+".")
}

// TestRekeyKeyPolicy: /rekey and /renew apply the key rules /sign applies
// (issue 14, item 2).
func TestRekeyKeyPolicy(t *testing.T) {
	t.Parallel()
	env := at.New(t, at.Options{})
	rsa1024, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	const msg = "The request was forbidden by the certificate authority: certificate request RSA key must be at least 2048 bits (2048)."
	_, err = env.Authority.Sign(ctx, &authority.SignRequest{CSR: at.NewCSR(t, at.CSR{Key: rsa1024}), OTT: env.SignToken(t, "weak.example.com")})
	wantErr(t, err, errs.Forbidden, msg)

	cert, _ := env.Issue(t, "k.example.com", time.Hour)
	_, err = env.Authority.Rekey(ctx, cert, at.NewCSR(t, at.CSR{Key: rsa1024}))
	wantErr(t, err, errs.Forbidden, msg)

	// A certificate for a weak key (as the old /rekey issued) does not renew.
	ext, err := provisioner.NewExtension(env.Authority.Provisioners().All()[0].Info())
	if err != nil {
		t.Fatal(err)
	}
	now := env.Clock.Now()
	weak, _ := env.PKI.IssueLeaf(t, at.Leaf{CommonName: "weak.example.com", Key: rsa1024, NotBefore: now, NotAfter: now.Add(time.Hour), Extra: []pkix.Extension{ext}})
	_, err = env.Authority.Renew(ctx, weak)
	wantErr(t, err, errs.Forbidden, "The request was forbidden by the certificate authority: certificate RSA key must be at least 2048 bits (2048).")
	if _, err := env.Authority.Rekey(ctx, weak, at.NewCSR(t, at.CSR{})); err != nil {
		t.Fatalf("rekeying a weak key to a good one: %v", err)
	}
}
