package authority_test

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/mayfly-pki/mayfly/authority"
	at "github.com/mayfly-pki/mayfly/authority/authoritytest"
	"github.com/mayfly-pki/mayfly/authority/issuer"
	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/provisioner"
	"github.com/mayfly-pki/mayfly/provisioner/token"
)

var oidAKI = asn1.ObjectIdentifier{2, 5, 29, 35}

func sameKey(a, b crypto.PublicKey) bool {
	k, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && k.Equal(b)
}

// extensionsExcept returns the extensions of c other than those with oids.
func extensionsExcept(c *x509.Certificate, oids ...asn1.ObjectIdentifier) []pkix.Extension {
	var out []pkix.Extension
next:
	for _, e := range c.Extensions {
		for _, o := range oids {
			if e.Id.Equal(o) {
				continue next
			}
		}
		out = append(out, e)
	}
	return out
}

func sameExtensions(t *testing.T, a, b []pkix.Extension) {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("%d extensions, want %d", len(a), len(b))
	}
	for i := range a {
		if !a[i].Id.Equal(b[i].Id) || a[i].Critical != b[i].Critical || !bytes.Equal(a[i].Value, b[i].Value) {
			t.Fatalf("extension %d: %v differs from %v", i, a[i].Id, b[i].Id)
		}
	}
}

func TestRenew(t *testing.T) {
	t.Parallel()
	env := at.New(t, at.Options{})
	old, _ := env.Issue(t, "r.example.com", time.Hour)
	if old.NotAfter.Sub(old.NotBefore) != time.Hour+time.Minute {
		t.Fatalf("issued length %v", old.NotAfter.Sub(old.NotBefore))
	}
	env.Clock.Add(30 * time.Minute)
	now := env.Clock.Now()
	iss, err := env.Authority.Renew(ctx, old)
	if err != nil {
		t.Fatalf("Renew: %v", err)
	}
	c := parse(t, iss.DER)
	if !bytes.Equal(c.RawSubject, old.RawSubject) || strings.Join(c.DNSNames, ",") != strings.Join(old.DNSNames, ",") {
		t.Fatalf("subject %s SANs %v, want %s %v", c.Subject, c.DNSNames, old.Subject, old.DNSNames)
	}
	if c.KeyUsage != old.KeyUsage || len(c.ExtKeyUsage) != len(old.ExtKeyUsage) || !bytes.Equal(c.SubjectKeyId, old.SubjectKeyId) {
		t.Fatal("KU, EKU or SKI changed")
	}
	sameExtensions(t, extensionsExcept(c, oidAKI), extensionsExcept(old, oidAKI))
	if !bytes.Equal(c.AuthorityKeyId, env.PKI.Intermediate.SubjectKeyId) {
		t.Fatal("AKI is not the intermediate SKI")
	}
	if !sameKey(c.PublicKey, old.PublicKey) {
		t.Fatal("public key changed")
	}
	if c.SerialNumber.Cmp(old.SerialNumber) == 0 || iss.Serial() != c.SerialNumber.String() {
		t.Fatal("serial not renewed")
	}
	if !c.NotBefore.Equal(now.Add(-time.Minute)) || c.NotAfter.Sub(c.NotBefore) != old.NotAfter.Sub(old.NotBefore) {
		t.Fatalf("validity %v .. %v, want from %v for %v", c.NotBefore, c.NotAfter, now.Add(-time.Minute), old.NotAfter.Sub(old.NotBefore))
	}
	if strings.Join(iss.Template.DNSNames, ",") != "r.example.com" || iss.Provisioner.Name != "admin" {
		t.Fatalf("Issued = %+v", iss.Provisioner)
	}
	oldRec, err := env.Store.GetCertificate(ctx, old.SerialNumber.String())
	if err != nil {
		t.Fatal(err)
	}
	rec, err := env.Store.GetCertificate(ctx, iss.Serial())
	if err != nil {
		t.Fatalf("renewed certificate not stored: %v", err)
	}
	if !bytes.Equal(rec.Data, oldRec.Data) || !bytes.Equal(rec.DER, iss.DER) {
		t.Fatalf("x509_certs_data %s, want the old %s", rec.Data, oldRec.Data)
	}

	// Renewing the renewal keeps the total length: no drift.
	env.Clock.Add(30 * time.Minute)
	again, err := env.Authority.Renew(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if c2 := parse(t, again.DER); c2.NotAfter.Sub(c2.NotBefore) != time.Hour+time.Minute {
		t.Fatalf("second renewal length %v", c2.NotAfter.Sub(c2.NotBefore))
	}
}

func TestRenewRefusals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		opts  at.Options
		clock time.Duration // clock move after issuing a 1h certificate
		ok    bool
		msg   string
	}{
		{name: "valid", clock: 10 * time.Minute, ok: true},
		{name: "expired", clock: 2 * time.Hour, msg: "expired"},
		{name: "expired allowed", opts: at.Options{AdminExtra: map[string]any{"claims": map[string]any{"allowRenewalAfterExpiry": true}}}, clock: 2 * time.Hour, ok: true},
		{name: "not yet valid", opts: at.Options{AdminExtra: map[string]any{"claims": map[string]any{"allowRenewalAfterExpiry": true}}}, clock: -time.Hour, msg: "not yet valid"},
		{name: "renewal disabled", opts: at.Options{AdminExtra: map[string]any{"claims": map[string]any{"disableRenewal": true}}}, msg: "disabled"},
		{name: "renewal disabled globally", opts: at.Options{Claims: &provisioner.Claims{DisableRenewal: ptr(true)}}, msg: "disabled"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := at.New(t, tc.opts)
			cert, _ := env.Issue(t, "x.example.com", time.Hour)
			env.Clock.Add(tc.clock)
			_, err := env.Authority.Renew(ctx, cert)
			if tc.ok {
				if err != nil {
					t.Fatalf("Renew: %v", err)
				}
				return
			}
			wantErr(t, err, errs.Unauthorized, "")
			if !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("error %v, want %q", err, tc.msg)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestRenewProvisionerLookup(t *testing.T) {
	t.Parallel()
	env := at.New(t, at.Options{})
	now := env.Clock.Now()
	leaf := at.Leaf{CommonName: "l.example.com", NotBefore: now.Add(-time.Minute), NotAfter: now.Add(time.Hour)}

	noExt, _ := env.PKI.IssueLeaf(t, leaf)
	_, err := env.Authority.Renew(ctx, noExt)
	wantErr(t, err, errs.Unauthorized, "")

	ghostExt, err := provisioner.NewExtension(provisioner.Info{Name: "ghost", Type: provisioner.TypeJWK, CredentialID: "k"})
	if err != nil {
		t.Fatal(err)
	}
	leaf.Extra = []pkix.Extension{ghostExt}
	ghost, _ := env.PKI.IssueLeaf(t, leaf)
	_, err = env.Authority.Renew(ctx, ghost)
	wantErr(t, err, errs.Unauthorized, "")

	// A certificate of the admin provisioner the CA never stored renews, with
	// x509_certs_data derived from the provisioner.
	info := env.Authority.Provisioners().All()[0].Info()
	adminExt, err := provisioner.NewExtension(info)
	if err != nil {
		t.Fatal(err)
	}
	leaf.Extra = []pkix.Extension{adminExt}
	leaf.Serial = big.NewInt(4242)
	unknown, _ := env.PKI.IssueLeaf(t, leaf)
	iss, err := env.Authority.Renew(ctx, unknown)
	if err != nil {
		t.Fatalf("Renew: %v", err)
	}
	rec, err := env.Store.GetCertificate(ctx, iss.Serial())
	if err != nil || !strings.Contains(string(rec.Data), `"name":"admin"`) {
		t.Fatalf("record %v, %v", rec, err)
	}
}

func TestRenewCapsAtIntermediate(t *testing.T) {
	t.Parallel()
	env := at.New(t, at.Options{InterLife: 90 * time.Minute})
	cert, _ := env.Issue(t, "c.example.com", time.Hour)
	env.Clock.Add(45 * time.Minute)
	iss, err := env.Authority.Renew(ctx, cert)
	if err != nil {
		t.Fatal(err)
	}
	if c := parse(t, iss.DER); !c.NotAfter.Equal(env.PKI.Intermediate.NotAfter) {
		t.Fatalf("NotAfter %v, want the intermediate's %v", c.NotAfter, env.PKI.Intermediate.NotAfter)
	}
}

func TestRekey(t *testing.T) {
	t.Parallel()
	env := at.New(t, at.Options{})
	old, oldKey := env.Issue(t, "k.example.com", time.Hour)
	newKey := at.NewKey(t)
	csr := at.NewCSR(t, at.CSR{Key: newKey})
	iss, err := env.Authority.Rekey(ctx, old, csr)
	if err != nil {
		t.Fatalf("Rekey: %v", err)
	}
	c := parse(t, iss.DER)
	if !sameKey(c.PublicKey, newKey.Public()) || sameKey(c.PublicKey, oldKey.Public()) {
		t.Fatal("rekeyed certificate does not carry the CSR key")
	}
	ski, _ := issuer.KeyID(csr.RawSubjectPublicKeyInfo)
	if !bytes.Equal(c.SubjectKeyId, ski) || bytes.Equal(c.SubjectKeyId, old.SubjectKeyId) {
		t.Fatalf("SKI %x, want the new key's %x", c.SubjectKeyId, ski)
	}
	if !bytes.Equal(c.RawSubject, old.RawSubject) || strings.Join(c.DNSNames, ",") != "k.example.com" {
		t.Fatal("subject or SANs changed")
	}
	oidSKI := asn1.ObjectIdentifier{2, 5, 29, 14}
	sameExtensions(t, extensionsExcept(c, oidAKI, oidSKI), extensionsExcept(old, oidAKI, oidSKI))
	if c.SerialNumber.Cmp(old.SerialNumber) == 0 {
		t.Fatal("serial not renewed")
	}

	_, err = env.Authority.Rekey(ctx, old, nil)
	wantErr(t, err, errs.BadRequest, "The request could not be completed: missing csr.")
	forged := *csr
	forged.Signature = append([]byte{}, csr.Signature...)
	forged.Signature[len(forged.Signature)-1] ^= 1
	_, err = env.Authority.Rekey(ctx, old, &forged)
	wantErr(t, err, errs.BadRequest, "The request could not be completed: invalid csr.")
}

func TestAuthorizeRenewToken(t *testing.T) {
	t.Parallel()
	env := at.New(t, at.Options{})
	cert, key := env.Issue(t, "t.example.com", time.Hour)
	chain := []*x509.Certificate{cert, env.PKI.Intermediate}
	now := env.Clock.Now()
	renewToken := func(aud string, mod func(*token.Claims)) string {
		return at.RenewToken(t, aud, chain, key, now, mod)
	}
	foreign := at.NewPKI(t, now, time.Hour)
	foreignLeaf, foreignKey := foreign.IssueLeaf(t, at.Leaf{CommonName: "t.example.com", NotBefore: now.Add(-time.Minute), NotAfter: now.Add(time.Hour)})
	serverOnly, serverKey := env.PKI.IssueLeaf(t, at.Leaf{CommonName: "t.example.com", NotBefore: now.Add(-time.Minute), NotAfter: now.Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	noX5C := env.Admin.Sign(t, env.Admin.Claims(t, at.CAURL+"/renew", "t.example.com", now))

	tests := []struct {
		name string
		raw  string
		ok   bool
	}{
		{"renew audience", renewToken(at.CAURL+"/renew", nil), true},
		{"1.0 renew audience", renewToken(at.CAURL+"/1.0/renew", nil), true},
		{"provisioner name as issuer", renewToken(at.CAURL+"/renew", func(c *token.Claims) { c.Issuer = "admin" }), true},
		{"sign audience", renewToken(at.CAURL+"/1.0/sign", nil), false},
		{"foreign audience", renewToken("https://other.example.com/renew", nil), false},
		{"wrong subject", renewToken(at.CAURL+"/renew", func(c *token.Claims) { c.Subject = "other.example.com" }), false},
		{"wrong issuer", renewToken(at.CAURL+"/renew", func(c *token.Claims) { c.Issuer = "dev" }), false},
		{"expired token", renewToken(at.CAURL+"/renew", func(c *token.Claims) { c.Expiry = token.NewNumericDate(now.Add(-2 * time.Minute)) }), false},
		{"no exp", renewToken(at.CAURL+"/renew", func(c *token.Claims) { c.Expiry = nil }), false},
		{"signed by another key", at.RenewToken(t, at.CAURL+"/renew", chain, at.NewKey(t), now, nil), false},
		{"foreign chain", at.RenewToken(t, at.CAURL+"/renew", []*x509.Certificate{foreignLeaf, foreign.Intermediate}, foreignKey, now, nil), false},
		{"leaf only", at.RenewToken(t, at.CAURL+"/renew", []*x509.Certificate{cert}, key, now, nil), false},
		{"no clientAuth", at.RenewToken(t, at.CAURL+"/renew", []*x509.Certificate{serverOnly, env.PKI.Intermediate}, serverKey, now, nil), false},
		{"no x5cInsecure", noX5C, false},
		{"garbage", "garbage", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			leaf, err := env.Authority.AuthorizeRenewToken(ctx, tc.raw)
			if tc.ok {
				if err != nil {
					t.Fatalf("AuthorizeRenewToken: %v", err)
				}
				if !bytes.Equal(leaf.Raw, cert.Raw) {
					t.Fatal("returned certificate is not the token's leaf")
				}
				return
			}
			wantErr(t, err, errs.Unauthorized, "error validating renew token")
		})
	}
}

func TestAuthorizeRenewTokenReuseAndExpiredLeaf(t *testing.T) {
	t.Parallel()
	env := at.New(t, at.Options{})
	cert, key := env.Issue(t, "e.example.com", time.Hour)
	chain := []*x509.Certificate{cert, env.PKI.Intermediate}

	raw := at.RenewToken(t, at.CAURL+"/renew", chain, key, env.Clock.Now(), nil)
	if _, err := env.Authority.AuthorizeRenewToken(ctx, raw); err != nil {
		t.Fatal(err)
	}
	_, err := env.Authority.AuthorizeRenewToken(ctx, raw)
	wantErr(t, err, errs.Unauthorized, "The request lacked necessary authorization to be completed. Please see the certificate authority logs for more info.")
	if !strings.Contains(err.Error(), "token already used") {
		t.Fatalf("reuse error = %v", err)
	}

	// An expired leaf authenticates (chain checked at NotAfter−1m); the
	// renewal itself then depends on allowRenewalAfterExpiry.
	env.Clock.Add(3 * time.Hour)
	raw = at.RenewToken(t, at.CAURL+"/renew", chain, key, env.Clock.Now(), nil)
	leaf, err := env.Authority.AuthorizeRenewToken(ctx, raw)
	if err != nil {
		t.Fatalf("expired leaf: %v", err)
	}
	_, err = env.Authority.Renew(ctx, leaf)
	wantErr(t, err, errs.Unauthorized, "")
}

func TestRekeyWithoutProvisioner(t *testing.T) {
	t.Parallel()
	env := at.New(t, at.Options{})
	now := env.Clock.Now()
	leaf, _ := env.PKI.IssueLeaf(t, at.Leaf{CommonName: "n", NotBefore: now, NotAfter: now.Add(time.Hour)})
	_, err := env.Authority.Rekey(ctx, leaf, at.NewCSR(t, at.CSR{}))
	wantErr(t, err, errs.Unauthorized, "")
	if authority.RenewIssuer != "step-ca-client/1.0" {
		t.Fatalf("RenewIssuer = %q", authority.RenewIssuer)
	}
}
