package jwk_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/mayfly-pki/mayfly/internal/errs"
	mjose "github.com/mayfly-pki/mayfly/internal/jose"
	"github.com/mayfly-pki/mayfly/provisioner"
	"github.com/mayfly-pki/mayfly/provisioner/jwk"
	"github.com/mayfly-pki/mayfly/provisioner/token"
	"github.com/mayfly-pki/mayfly/provisioner/validate"
)

const caURL = "https://ca.example.com:9443"

var now = time.Date(2031, 3, 4, 5, 6, 7, 0, time.UTC)

func newKey(t *testing.T) *jose.JSONWebKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	key, err := mjose.NewSigningJWK(k)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func config() provisioner.Config {
	return provisioner.Config{
		Audiences: provisioner.NewAudiences([]string{"ca.example.com"}),
		Claims:    provisioner.DefaultClaims,
		Now:       func() time.Time { return now },
	}
}

func entry(t *testing.T, name string, key any, extra map[string]any) json.RawMessage {
	t.Helper()
	m := map[string]any{"type": "JWK", "name": name}
	if key != nil {
		m["key"] = key
	}
	for k, v := range extra {
		m[k] = v
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newProvisioner(t *testing.T, key *jose.JSONWebKey, extra map[string]any) provisioner.Interface {
	t.Helper()
	p, err := jwk.New(entry(t, "admin", key.Public(), extra), config())
	if err != nil {
		t.Fatalf("jwk.New: %v", err)
	}
	return p
}

func signClaims(aud, sub string) *token.Claims {
	return &token.Claims{
		Audience: token.Audience{aud}, Issuer: "admin", Subject: sub, ID: "jti-1",
		IssuedAt: token.NewNumericDate(now), NotBefore: token.NewNumericDate(now),
		Expiry: token.NewNumericDate(now.Add(5 * time.Minute)),
	}
}

func mint(t *testing.T, key *jose.JSONWebKey, c *token.Claims) *token.Token {
	t.Helper()
	raw, err := token.Sign(key, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := token.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestNew(t *testing.T) {
	t.Parallel()
	key := newKey(t)
	noKID := key.Public()
	noKID.KeyID = ""
	tests := []struct {
		name string
		raw  json.RawMessage
		want string
	}{
		{"not json", json.RawMessage(`{`), "invalid JWK provisioner"},
		{"no name", entry(t, "", key.Public(), nil), "name cannot be empty"},
		{"no key", entry(t, "admin", nil, nil), "key cannot be empty"},
		{"private key", entry(t, "admin", key, nil), "must be a public key"},
		{"no kid", entry(t, "admin", noKID, nil), "no kid"},
		{"bad claims", entry(t, "admin", key.Public(), map[string]any{"claims": map[string]any{"minTLSCertDuration": "48h"}}), "claims"},
		{"bad duration", entry(t, "admin", key.Public(), map[string]any{"claims": map[string]any{"maxTLSCertDuration": "forever"}}), "invalid"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if _, err := jwk.New(tc.raw, config()); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New = %v, want an error containing %q", err, tc.want)
			}
		})
	}

	raw := json.RawMessage("{\n  \"type\": \"JWK\",\n  \"name\": \"admin\",\n  \"key\": " + mustJSON(t, key.Public()) +
		",\n  \"encryptedKey\": \"eyJ.enc\",\n  \"claims\": {\"maxTLSCertDuration\": \"48h\"}\n}")
	p, err := jwk.New(raw, config())
	if err != nil {
		t.Fatal(err)
	}
	info := p.Info()
	if info.Name != "admin" || info.Type != provisioner.TypeJWK || info.CredentialID != key.KeyID || info.ID != "admin:"+key.KeyID || p.TokenID() != info.ID {
		t.Fatalf("Info = %+v", info)
	}
	if kid, jwe, ok := p.EncryptedKey(); !ok || kid != key.KeyID || jwe != "eyJ.enc" {
		t.Fatalf("EncryptedKey = %q, %q, %v", kid, jwe, ok)
	}
	if strings.ContainsAny(string(p.JSON()), "\n ") || !strings.Contains(string(p.JSON()), `"encryptedKey":"eyJ.enc"`) {
		t.Fatalf("JSON is not the compacted entry: %s", p.JSON())
	}
	if p.Claims().MaxTLSDur != 48*time.Hour || p.Claims().DefaultTLSDur != 24*time.Hour {
		t.Fatalf("claims not merged: %+v", p.Claims())
	}
	if _, _, ok := newProvisioner(t, key, nil).EncryptedKey(); ok {
		t.Fatal("EncryptedKey ok without an encryptedKey")
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestAuthorizeSign(t *testing.T) {
	t.Parallel()
	key := newKey(t)
	p := newProvisioner(t, key, nil)
	ctx := context.Background()

	a, err := p.AuthorizeSign(ctx, mint(t, key, signClaims(caURL+"/1.0/sign", "a.example.com")))
	if err != nil {
		t.Fatalf("AuthorizeSign: %v", err)
	}
	if a.Subject != "a.example.com" || len(a.SANs) != 1 || a.SANs[0] != "a.example.com" {
		t.Fatalf("SANs do not default to [sub]: %+v", a)
	}
	if a.Info != p.Info() || a.Claims != p.Claims() || len(a.Modifiers) != 1 || len(a.Validators) != 1 || len(a.Caps) != 0 {
		t.Fatalf("plan = %+v", a)
	}
	if n, ok := a.Validators[0].(*validate.Names); !ok || n.Subject != "a.example.com" || strings.Join(n.SANs, ",") != "a.example.com" {
		t.Fatalf("names validator = %#v", a.Validators[0])
	}
	if _, ok := a.Modifiers[0].(*validate.Extension); !ok {
		t.Fatalf("modifier = %#v, want the provisioner extension", a.Modifiers[0])
	}

	c := signClaims(provisioner.LegacyAudience, "a.example.com")
	c.SANs = []string{"b.example.com", "10.0.0.1"}
	c.Cnf = &token.Confirmation{X5rtS256: "fingerprint"}
	c.User = map[string]any{"k": "v"}
	a, err = p.AuthorizeSign(ctx, mint(t, key, c))
	if err != nil {
		t.Fatalf("AuthorizeSign(legacy aud): %v", err)
	}
	if strings.Join(a.SANs, ",") != "b.example.com,10.0.0.1" || len(a.Validators) != 2 || a.Validators[1] != validate.CSRFingerprint("fingerprint") {
		t.Fatalf("plan = %+v", a)
	}

	noExt := newProvisioner(t, key, map[string]any{"claims": map[string]any{"disableSmallstepExtensions": true}})
	a, err = noExt.AuthorizeSign(ctx, mint(t, key, signClaims(caURL+"/sign", "x")))
	if err != nil || len(a.Modifiers) != 0 {
		t.Fatalf("disableSmallstepExtensions: %+v, %v", a, err)
	}
}

func TestAuthorizeErrors(t *testing.T) {
	t.Parallel()
	key, other := newKey(t), newKey(t)
	p := newProvisioner(t, key, nil)
	ctx := context.Background()
	with := func(mod func(*token.Claims)) *token.Claims {
		c := signClaims(caURL+"/1.0/sign", "a.example.com")
		mod(c)
		return c
	}
	tests := []struct {
		name string
		tok  *token.Token
		want string
	}{
		{"wrong issuer", mint(t, key, with(func(c *token.Claims) { c.Issuer = "dev" })), "issuer"},
		{"wrong audience", mint(t, key, with(func(c *token.Claims) { c.Audience = token.Audience{"https://other/1.0/sign"} })), "audience"},
		{"renew audience", mint(t, key, with(func(c *token.Claims) { c.Audience = token.Audience{caURL + "/1.0/renew"} })), "audience"},
		{"fragment audience", mint(t, key, with(func(c *token.Claims) { c.Audience = token.Audience{caURL + "/1.0/sign#x5c/admin"} })), "audience"},
		{"expired", mint(t, key, with(func(c *token.Claims) { c.Expiry = token.NewNumericDate(now.Add(-61 * time.Second)) })), "expired"},
		{"no exp", mint(t, key, with(func(c *token.Claims) { c.Expiry = nil })), "expiration"},
		{"not yet valid", mint(t, key, with(func(c *token.Claims) { c.NotBefore = token.NewNumericDate(now.Add(2 * time.Minute)) })), "not valid yet"},
		{"issued in the future", mint(t, key, with(func(c *token.Claims) { c.IssuedAt = token.NewNumericDate(now.Add(2 * time.Minute)) })), "future"},
		{"empty subject", mint(t, key, with(func(c *token.Claims) { c.Subject = "" })), "subject cannot be empty"},
		{"bad signature", mint(t, other, with(func(*token.Claims) {})), "error parsing jwk token"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := p.AuthorizeSign(ctx, tc.tok)
			if !errs.Is(err, errs.Unauthorized) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("AuthorizeSign = %v, want Unauthorized containing %q", err, tc.want)
			}
		})
	}
	// Within the leeway the same checks pass.
	ok := mint(t, key, with(func(c *token.Claims) {
		c.Expiry = token.NewNumericDate(now.Add(-time.Minute))
		c.NotBefore = token.NewNumericDate(now.Add(time.Minute))
		c.IssuedAt = token.NewNumericDate(now.Add(time.Minute))
	}))
	if _, err := p.AuthorizeSign(ctx, ok); err != nil {
		t.Fatalf("token within the leeway: %v", err)
	}
}

func TestAuthorizeRevoke(t *testing.T) {
	t.Parallel()
	key := newKey(t)
	p := newProvisioner(t, key, nil)
	ctx := context.Background()
	for _, aud := range []string{caURL + "/1.0/revoke", caURL + "/revoke", provisioner.LegacyAudience} {
		if err := p.AuthorizeRevoke(ctx, mint(t, key, signClaims(aud, "1234"))); err != nil {
			t.Fatalf("AuthorizeRevoke(%s): %v", aud, err)
		}
	}
	err := p.AuthorizeRevoke(ctx, mint(t, key, signClaims(caURL+"/1.0/sign", "1234")))
	if !errs.Is(err, errs.Unauthorized) {
		t.Fatalf("AuthorizeRevoke with a sign audience = %v", err)
	}
}

func TestAuthorizeRenew(t *testing.T) {
	t.Parallel()
	key := newKey(t)
	ctx := context.Background()
	cert := &x509.Certificate{NotBefore: now.Add(-2 * time.Hour), NotAfter: now.Add(-time.Hour)}
	valid := &x509.Certificate{NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour)}
	tests := []struct {
		name  string
		extra map[string]any
		cert  *x509.Certificate
		ok    bool
	}{
		{"valid", nil, valid, true},
		{"expired", nil, cert, false},
		{"expired allowed", map[string]any{"claims": map[string]any{"allowRenewalAfterExpiry": true}}, cert, true},
		{"disabled", map[string]any{"claims": map[string]any{"disableRenewal": true}}, valid, false},
	}
	for _, tc := range tests {
		err := newProvisioner(t, key, tc.extra).AuthorizeRenew(ctx, tc.cert)
		if tc.ok != (err == nil) || (err != nil && !errs.Is(err, errs.Unauthorized)) {
			t.Fatalf("%s: AuthorizeRenew = %v", tc.name, err)
		}
	}
}
