package authority_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mayfly-pki/mayfly/api/render"
	"github.com/mayfly-pki/mayfly/authority"
	at "github.com/mayfly-pki/mayfly/authority/authoritytest"
	"github.com/mayfly-pki/mayfly/authority/issuer"
	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/internal/timeutil"
	"github.com/mayfly-pki/mayfly/provisioner"
	"github.com/mayfly-pki/mayfly/provisioner/token"
)

var ctx = context.Background()

// mustTD parses a wire TimeDuration.
func mustTD(t *testing.T, s string) timeutil.TimeDuration {
	t.Helper()
	td, err := timeutil.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return td
}

// wantErr fails unless err has kind and (when msg is set) renders as msg.
func wantErr(t *testing.T, err error, kind errs.Kind, msg string) {
	t.Helper()
	if !errs.Is(err, kind) {
		t.Fatalf("error = %v (kind %v), want kind %v", err, errs.KindOf(err), kind)
	}
	if msg == "" {
		return
	}
	if got := render.Message(err, render.Status(err)); got != msg {
		t.Fatalf("message = %q\n         want %q", got, msg)
	}
}

func parse(t *testing.T, der []byte) *x509.Certificate {
	t.Helper()
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSignProfile(t *testing.T) {
	t.Parallel()
	env := at.New(t, at.Options{})
	now := env.Clock.Now()
	key := at.NewKey(t)
	csr := at.NewCSR(t, at.CSR{CommonName: "a.example.com", DNSNames: []string{"a.example.com"}, Key: key})
	iss, err := env.Authority.Sign(ctx, &authority.SignRequest{CSR: csr, OTT: env.SignToken(t, "a.example.com")})
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	c := parse(t, iss.DER)

	if c.Subject.String() != "CN=a.example.com" || len(c.Subject.Names) != 1 {
		t.Fatalf("subject = %s", c.Subject)
	}
	if strings.Join(c.DNSNames, ",") != "a.example.com" || len(c.IPAddresses)+len(c.EmailAddresses)+len(c.URIs) != 0 {
		t.Fatalf("SANs = %v %v %v %v", c.DNSNames, c.IPAddresses, c.EmailAddresses, c.URIs)
	}
	if c.KeyUsage != x509.KeyUsageDigitalSignature {
		t.Fatalf("KeyUsage = %v, want digitalSignature only", c.KeyUsage)
	}
	if len(c.ExtKeyUsage) != 2 || c.ExtKeyUsage[0] != x509.ExtKeyUsageServerAuth || c.ExtKeyUsage[1] != x509.ExtKeyUsageClientAuth {
		t.Fatalf("ExtKeyUsage = %v", c.ExtKeyUsage)
	}
	ski, _ := issuer.KeyID(csr.RawSubjectPublicKeyInfo)
	if !bytes.Equal(c.SubjectKeyId, ski) {
		t.Fatalf("SKI = %x, want %x", c.SubjectKeyId, ski)
	}
	if !bytes.Equal(c.AuthorityKeyId, env.PKI.Intermediate.SubjectKeyId) {
		t.Fatalf("AKI = %x, want the intermediate SKI %x", c.AuthorityKeyId, env.PKI.Intermediate.SubjectKeyId)
	}
	if c.IsCA {
		t.Fatal("leaf is a CA")
	}
	for _, e := range c.Extensions {
		switch {
		case e.Id.Equal(asn1.ObjectIdentifier{2, 5, 29, 15}) && !e.Critical:
			t.Fatal("key usage is not critical")
		case e.Id.Equal(provisioner.ExtensionOID) && e.Critical:
			t.Fatal("provisioner extension is critical")
		}
	}
	ext, ok := provisioner.FindExtension(c)
	info := env.Authority.Provisioners().All()[0].Info()
	if !ok || ext.Type != provisioner.TypeJWK || ext.Name != "admin" || ext.CredentialID != env.Admin.Key.KeyID {
		t.Fatalf("provisioner extension = %+v, %v", ext, ok)
	}
	limit := new(big.Int).Lsh(big.NewInt(1), 128)
	if c.SerialNumber.Sign() <= 0 || c.SerialNumber.Cmp(limit) >= 0 || iss.Serial() != c.SerialNumber.String() {
		t.Fatalf("serial %v (Issued.Serial %s)", c.SerialNumber, iss.Serial())
	}
	// Backdate 1m, default duration 24h from the un-backdated notBefore.
	if !c.NotBefore.Equal(now.Add(-time.Minute)) || !c.NotAfter.Equal(now.Add(24*time.Hour)) {
		t.Fatalf("validity %v .. %v, want %v .. %v", c.NotBefore, c.NotAfter, now.Add(-time.Minute), now.Add(24*time.Hour))
	}
	if !iss.Template.NotBefore.Equal(c.NotBefore) || !iss.Template.NotAfter.Equal(c.NotAfter) || iss.Provisioner != info {
		t.Fatalf("Issued template/provisioner differ from the certificate: %+v", iss.Provisioner)
	}
	if pub, ok := c.PublicKey.(interface{ Equal(crypto.PublicKey) bool }); !ok || !pub.Equal(key.Public()) {
		t.Fatal("certificate key is not the CSR key")
	}
	roots, inters := x509.NewCertPool(), x509.NewCertPool()
	roots.AddCert(env.PKI.Root)
	inters.AddCert(env.PKI.Intermediate)
	if _, err := c.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inters, CurrentTime: now, DNSName: "a.example.com"}); err != nil {
		t.Fatalf("verify: %v", err)
	}

	rec, err := env.Store.GetCertificate(ctx, iss.Serial())
	if err != nil {
		t.Fatalf("GetCertificate: %v", err)
	}
	if !bytes.Equal(rec.DER, iss.DER) || rec.Subject != "a.example.com" || rec.Provisioner != "admin" || !rec.NotAfter.Equal(c.NotAfter) {
		t.Fatalf("record = %+v", rec)
	}
	var data map[string]map[string]string
	if err := json.Unmarshal(rec.Data, &data); err != nil {
		t.Fatalf("x509_certs_data %s: %v", rec.Data, err)
	}
	want := map[string]string{"id": "admin:" + env.Admin.Key.KeyID, "name": "admin", "type": "JWK"}
	if len(data) != 1 || len(data["provisioner"]) != 3 || data["provisioner"]["id"] != want["id"] ||
		data["provisioner"]["name"] != want["name"] || data["provisioner"]["type"] != want["type"] {
		t.Fatalf("x509_certs_data = %s, want provisioner %v", rec.Data, want)
	}
}

func TestSignKeyTypes(t *testing.T) {
	t.Parallel()
	env := at.New(t, at.Options{})
	rsa2048, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsa1024, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		key    crypto.Signer
		wantKU x509.KeyUsage
		err    string
	}{
		{"rsa 2048", rsa2048, x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment, ""},
		{"ed25519", edKey, x509.KeyUsageDigitalSignature, ""},
		{"rsa 1024", rsa1024, 0, "The request was forbidden by the certificate authority: certificate request RSA key must be at least 2048 bits (2048)."},
	}
	for _, tc := range tests {
		csr := at.NewCSR(t, at.CSR{CommonName: "k.example.com", Key: tc.key})
		iss, err := env.Authority.Sign(ctx, &authority.SignRequest{CSR: csr, OTT: env.SignToken(t, "k.example.com")})
		if tc.err != "" {
			wantErr(t, err, errs.Forbidden, tc.err)
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if ku := parse(t, iss.DER).KeyUsage; ku != tc.wantKU {
			t.Fatalf("%s: KeyUsage = %v, want %v", tc.name, ku, tc.wantKU)
		}
	}
}

func TestSignCSRChecks(t *testing.T) {
	t.Parallel()
	env := at.New(t, at.Options{})
	spiffe, _ := url.Parse("spiffe://example.org/svc")
	other, _ := url.Parse("spiffe://example.org/other")
	tests := []struct {
		name string
		sub  string
		sans []string
		csr  at.CSR
		kind errs.Kind // 0: success
		msg  string
	}{
		{name: "cn equals sub", sub: "a.example.com", csr: at.CSR{CommonName: "a.example.com"}},
		{name: "empty cn", sub: "a.example.com", csr: at.CSR{}},
		{name: "cn is a san", sub: "a.example.com", sans: []string{"a.example.com", "b.example.com"}, csr: at.CSR{CommonName: "b.example.com", DNSNames: []string{"b.example.com", "a.example.com"}}},
		{name: "cn mismatch", sub: "other.example.com", csr: at.CSR{CommonName: "tok.example.com"}, kind: errs.Forbidden,
			msg: "The request was forbidden by the certificate authority: certificate request does not contain the valid common name - got tok.example.com, want [other.example.com other.example.com]."},
		{name: "dns subset", sub: "a.example.com", sans: []string{"a.example.com", "b.example.com"}, csr: at.CSR{DNSNames: []string{"a.example.com"}}, kind: errs.Forbidden},
		{name: "dns superset", sub: "a.example.com", csr: at.CSR{DNSNames: []string{"a.example.com", "b.example.com"}}, kind: errs.Forbidden,
			msg: "The request was forbidden by the certificate authority: certificate request does not contain the valid DNS names - got [a.example.com b.example.com], want [a.example.com]."},
		{name: "dns duplicates", sub: "a.example.com", csr: at.CSR{DNSNames: []string{"a.example.com", "a.example.com"}}},
		{name: "email matches", sub: "alice", sans: []string{"alice@example.com"}, csr: at.CSR{Emails: []string{"alice@example.com"}}},
		{name: "email mismatch", sub: "alice", sans: []string{"alice@example.com"}, csr: at.CSR{Emails: []string{"bob@example.com"}}, kind: errs.Forbidden},
		{name: "uri matches", sub: "svc", sans: []string{spiffe.String()}, csr: at.CSR{URIs: []*url.URL{spiffe}}},
		{name: "uri mismatch", sub: "svc", sans: []string{spiffe.String()}, csr: at.CSR{URIs: []*url.URL{other}}, kind: errs.Forbidden},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			csr := at.NewCSR(t, tc.csr)
			_, err := env.Authority.Sign(ctx, &authority.SignRequest{CSR: csr, OTT: env.SignToken(t, tc.sub, tc.sans...)})
			if tc.kind == 0 {
				if err != nil {
					t.Fatalf("Sign: %v", err)
				}
				return
			}
			wantErr(t, err, tc.kind, tc.msg)
		})
	}
}

func TestSignSANs(t *testing.T) {
	t.Parallel()
	env := at.New(t, at.Options{})
	sans := []string{"a.example.com", "10.1.2.3", "::1", "alice@example.com", "spiffe://example.org/svc", "mailto:bob@example.com", "host:8080"}
	iss, err := env.Authority.Sign(ctx, &authority.SignRequest{CSR: at.NewCSR(t, at.CSR{}), OTT: env.SignToken(t, "a.example.com", sans...)})
	if err != nil {
		t.Fatal(err)
	}
	c := parse(t, iss.DER)
	var uris []string
	for _, u := range c.URIs {
		uris = append(uris, u.String())
	}
	if strings.Join(c.DNSNames, ",") != "a.example.com" ||
		len(c.IPAddresses) != 2 || c.IPAddresses[0].String() != "10.1.2.3" || c.IPAddresses[1].String() != "::1" ||
		strings.Join(c.EmailAddresses, ",") != "alice@example.com" ||
		strings.Join(uris, ",") != "spiffe://example.org/svc,mailto:bob@example.com,host:8080" {
		t.Fatalf("SANs: dns %v ip %v email %v uri %v", c.DNSNames, c.IPAddresses, c.EmailAddresses, uris)
	}
}

func TestSignValidity(t *testing.T) {
	t.Parallel()
	env := at.New(t, at.Options{})
	now := env.Clock.Now()
	tests := []struct {
		name           string
		nb, na         string
		wantNB, wantNA time.Time
		kind           errs.Kind
		msg            string
	}{
		{name: "defaults", wantNB: now.Add(-time.Minute), wantNA: now.Add(24 * time.Hour)},
		{name: "relative notAfter", na: "1h", wantNB: now.Add(-time.Minute), wantNA: now.Add(time.Hour)},
		{name: "max", na: "24h", wantNB: now.Add(-time.Minute), wantNA: now.Add(24 * time.Hour)},
		{name: "min", na: "4m", wantNB: now.Add(-time.Minute), wantNA: now.Add(4 * time.Minute)},
		{name: "relative notBefore: no backdate", nb: "1h", na: "2h", wantNB: now.Add(time.Hour), wantNA: now.Add(3 * time.Hour)},
		{name: "absolute", nb: now.Add(time.Hour).Format(time.RFC3339), na: now.Add(5 * time.Hour).Format(time.RFC3339), wantNB: now.Add(time.Hour), wantNA: now.Add(5 * time.Hour)},
		{name: "zero notBefore is unset", nb: "0s", na: "24h", wantNB: now.Add(-time.Minute), wantNA: now.Add(24 * time.Hour)},
		{name: "explicit notBefore max", nb: now.Format(time.RFC3339), na: "24h1m", wantNB: now, wantNA: now.Add(24*time.Hour + time.Minute)},
		{name: "too long", na: "48h", kind: errs.Forbidden,
			msg: "The request was forbidden by the certificate authority: requested duration of 48h1m0s is more than the authorized maximum certificate duration of 24h1m0s."},
		{name: "too long with notBefore", nb: now.Format(time.RFC3339), na: "48h", kind: errs.Forbidden,
			msg: "The request was forbidden by the certificate authority: requested duration of 48h0m0s is more than the authorized maximum certificate duration of 24h1m0s."},
		{name: "sub-second absolute notAfter", na: now.Add(48*time.Hour + 500*time.Millisecond).Format(time.RFC3339Nano), kind: errs.Forbidden,
			msg: "The request was forbidden by the certificate authority: requested duration of 48h1m0s is more than the authorized maximum certificate duration of 24h1m0s."},
		{name: "too short", na: "3m", kind: errs.Forbidden,
			msg: "The request was forbidden by the certificate authority: requested duration of 4m0s is less than the authorized minimum certificate duration of 5m0s."},
		{name: "notAfter in the past", na: now.Add(-time.Hour).Format(time.RFC3339), kind: errs.BadRequest,
			msg: "The request could not be completed: notAfter cannot be in the past."},
		{name: "negative notAfter", na: "-1m", kind: errs.BadRequest},
		{name: "notAfter before notBefore", nb: "2h", na: now.Add(time.Hour).Format(time.RFC3339), kind: errs.BadRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req := &authority.SignRequest{
				CSR: at.NewCSR(t, at.CSR{CommonName: "v.example.com"}), OTT: env.SignToken(t, "v.example.com"),
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

func TestSignSubSecondClock(t *testing.T) {
	t.Parallel()
	env := at.New(t, at.Options{})
	env.Clock.Add(700 * time.Millisecond)
	now := env.Clock.Now().Truncate(time.Second)
	iss, err := env.Authority.Sign(ctx, &authority.SignRequest{
		CSR: at.NewCSR(t, at.CSR{}), OTT: env.SignToken(t, "s.example.com"), NotAfter: mustTD(t, "1h"),
	})
	if err != nil {
		t.Fatal(err)
	}
	// The certificate and the Issued template agree to the second.
	if !iss.Template.NotBefore.Equal(now.Add(-time.Minute)) || !iss.Template.NotAfter.Equal(now.Add(time.Hour)) {
		t.Fatalf("template validity %v .. %v", iss.Template.NotBefore, iss.Template.NotAfter)
	}
}

func TestSignClaims(t *testing.T) {
	t.Parallel()
	perProv := at.New(t, at.Options{AdminExtra: map[string]any{"claims": map[string]any{
		"maxTLSCertDuration": "48h", "defaultTLSCertDuration": "2h", "disableSmallstepExtensions": true,
	}}})
	iss, err := perProv.Authority.Sign(ctx, &authority.SignRequest{CSR: at.NewCSR(t, at.CSR{}), OTT: perProv.SignToken(t, "p.example.com")})
	if err != nil {
		t.Fatal(err)
	}
	c := parse(t, iss.DER)
	if got := c.NotAfter.Sub(c.NotBefore); got != 2*time.Hour+time.Minute {
		t.Fatalf("default duration = %v, want 2h1m", got)
	}
	if _, ok := provisioner.FindExtension(c); ok {
		t.Fatal("provisioner extension present with disableSmallstepExtensions")
	}
	if _, err := perProv.Authority.Sign(ctx, &authority.SignRequest{CSR: at.NewCSR(t, at.CSR{}), OTT: perProv.SignToken(t, "p.example.com"), NotAfter: mustTD(t, "48h")}); err != nil {
		t.Fatalf("48h with a 48h maximum: %v", err)
	}

	global := at.New(t, at.Options{Claims: &provisioner.Claims{MinTLSDur: &provisioner.Duration{Duration: time.Hour}}})
	_, err = global.Authority.Sign(ctx, &authority.SignRequest{CSR: at.NewCSR(t, at.CSR{}), OTT: global.SignToken(t, "g.example.com"), NotAfter: mustTD(t, "30m")})
	wantErr(t, err, errs.Forbidden, "The request was forbidden by the certificate authority: requested duration of 31m0s is less than the authorized minimum certificate duration of 1h0m0s.")
}

func TestSignCapsAtIntermediate(t *testing.T) {
	t.Parallel()
	env := at.New(t, at.Options{InterLife: 2 * time.Hour})
	iss, err := env.Authority.Sign(ctx, &authority.SignRequest{CSR: at.NewCSR(t, at.CSR{}), OTT: env.SignToken(t, "c.example.com")})
	if err != nil {
		t.Fatal(err)
	}
	if c := parse(t, iss.DER); !c.NotAfter.Equal(env.PKI.Intermediate.NotAfter) {
		t.Fatalf("NotAfter = %v, want the intermediate's %v", c.NotAfter, env.PKI.Intermediate.NotAfter)
	}
}

func TestSignTokenChecks(t *testing.T) {
	t.Parallel()
	env := at.New(t, at.Options{})
	stranger := at.NewJWK(t, "admin")
	now := env.Clock.Now()
	with := func(mod func(*token.Claims)) string {
		c := env.SignClaims(t, "t.example.com")
		mod(c)
		return env.Admin.Sign(t, c)
	}
	tests := []struct {
		name string
		ott  string
	}{
		{"garbage", "garbage"},
		{"unknown key", stranger.Sign(t, stranger.Claims(t, at.CAURL+"/1.0/sign", "t.example.com", now))},
		{"wrong audience", with(func(c *token.Claims) { c.Audience = token.Audience{"https://other.example.com/1.0/sign"} })},
		{"revoke audience", with(func(c *token.Claims) { c.Audience = token.Audience{at.CAURL + "/1.0/revoke"} })},
		{"wrong issuer", with(func(c *token.Claims) { c.Issuer = "dev" })},
		{"expired", with(func(c *token.Claims) { c.Expiry = token.NewNumericDate(now.Add(-2 * time.Minute)) })},
		{"empty subject", with(func(c *token.Claims) { c.Subject = "" })},
	}
	for _, tc := range tests {
		_, err := env.Authority.Sign(ctx, &authority.SignRequest{CSR: at.NewCSR(t, at.CSR{}), OTT: tc.ott})
		wantErr(t, err, errs.Unauthorized, "The request lacked necessary authorization to be completed. Please see the certificate authority logs for more info.")
	}
}

func TestSignSingleUse(t *testing.T) {
	t.Parallel()
	env := at.New(t, at.Options{})
	ott := env.SignToken(t, "r.example.com")
	req := &authority.SignRequest{CSR: at.NewCSR(t, at.CSR{}), OTT: ott}
	if _, err := env.Authority.Sign(ctx, req); err != nil {
		t.Fatal(err)
	}
	_, err := env.Authority.Sign(ctx, req)
	wantErr(t, err, errs.Unauthorized, "")
	if !strings.Contains(err.Error(), "token already used") {
		t.Fatalf("replay error = %v", err)
	}

	// A sign rejected after token authorization still burns the token
	// (wire-spec §10.6).
	ott = env.SignToken(t, "r.example.com")
	_, err = env.Authority.Sign(ctx, &authority.SignRequest{CSR: at.NewCSR(t, at.CSR{CommonName: "wrong.example.com"}), OTT: ott})
	wantErr(t, err, errs.Forbidden, "")
	_, err = env.Authority.Sign(ctx, &authority.SignRequest{CSR: at.NewCSR(t, at.CSR{}), OTT: ott})
	wantErr(t, err, errs.Unauthorized, "")
	if !strings.Contains(err.Error(), "token already used") {
		t.Fatalf("reuse after a rejected sign = %v", err)
	}
}

func TestSignConcurrentReplay(t *testing.T) {
	t.Parallel()
	env := at.New(t, at.Options{})
	ott := env.SignToken(t, "c.example.com")
	const n = 8
	csr := at.NewCSR(t, at.CSR{})
	results := make(chan error, n)
	for range n {
		go func() {
			_, err := env.Authority.Sign(ctx, &authority.SignRequest{CSR: csr, OTT: ott})
			results <- err
		}()
	}
	ok := 0
	for range n {
		if err := <-results; err == nil {
			ok++
		} else if !errs.Is(err, errs.Unauthorized) {
			t.Fatalf("replay error kind: %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d concurrent uses of one token succeeded, want 1", ok)
	}
}

func TestSignIssuedAtCheck(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		disable bool
		iat     time.Duration // relative to the start time
		ok      bool
	}{
		{"before start", false, -time.Second, false},
		{"same second as start", false, 0, true},
		{"after start", false, time.Second, true},
		{"before start, check disabled", true, -time.Hour, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			start := at.Epoch.Add(300 * time.Millisecond)
			env := at.New(t, at.Options{StartTime: start, DisableIssuedAtCheck: tc.disable})
			c := env.SignClaims(t, "i.example.com")
			c.IssuedAt = token.NewNumericDate(start.Truncate(time.Second).Add(tc.iat))
			_, err := env.Authority.Sign(ctx, &authority.SignRequest{CSR: at.NewCSR(t, at.CSR{}), OTT: env.Admin.Sign(t, c)})
			if tc.ok {
				if err != nil {
					t.Fatalf("Sign: %v", err)
				}
				return
			}
			wantErr(t, err, errs.Unauthorized, "")
			if !strings.Contains(err.Error(), "token issued before the bootstrap of certificate authority") {
				t.Fatalf("error = %v", err)
			}
		})
	}
}

func TestSignConfirmation(t *testing.T) {
	t.Parallel()
	env := at.New(t, at.Options{})
	csr := at.NewCSR(t, at.CSR{CommonName: "f.example.com"})
	sum := sha256.Sum256(csr.Raw)
	fp := base64.RawURLEncoding.EncodeToString(sum[:])
	for _, tc := range []struct {
		fp string
		ok bool
	}{{fp, true}, {base64.RawURLEncoding.EncodeToString(make([]byte, 32)), false}, {base64.StdEncoding.EncodeToString(sum[:]), false}} {
		c := env.SignClaims(t, "f.example.com")
		c.Cnf = &token.Confirmation{X5rtS256: tc.fp}
		_, err := env.Authority.Sign(ctx, &authority.SignRequest{CSR: csr, OTT: env.Admin.Sign(t, c)})
		if tc.ok && err != nil {
			t.Fatalf("matching fingerprint: %v", err)
		}
		if !tc.ok {
			wantErr(t, err, errs.Forbidden, "")
		}
	}
}

func TestSignBadCSR(t *testing.T) {
	t.Parallel()
	env := at.New(t, at.Options{})
	_, err := env.Authority.Sign(ctx, &authority.SignRequest{OTT: env.SignToken(t, "x")})
	wantErr(t, err, errs.BadRequest, "The request could not be completed: missing csr.")

	csr := at.NewCSR(t, at.CSR{CommonName: "x"})
	forged := *csr
	forged.Signature = append([]byte{}, csr.Signature...)
	forged.Signature[len(forged.Signature)-1] ^= 0xff
	ott := env.SignToken(t, "x")
	_, err = env.Authority.Sign(ctx, &authority.SignRequest{CSR: &forged, OTT: ott})
	wantErr(t, err, errs.BadRequest, "The request could not be completed: invalid csr.")
	_, err = env.Authority.Sign(ctx, &authority.SignRequest{CSR: &forged})
	wantErr(t, err, errs.BadRequest, "The request could not be completed: invalid csr.")
	_, err = env.Authority.Sign(ctx, &authority.SignRequest{CSR: csr})
	wantErr(t, err, errs.BadRequest, "The request could not be completed: missing ott.")
	// The CSR is checked before the token: the token is still usable.
	if _, err := env.Authority.Sign(ctx, &authority.SignRequest{CSR: csr, OTT: ott}); err != nil {
		t.Fatalf("token after a rejected CSR: %v", err)
	}
}
