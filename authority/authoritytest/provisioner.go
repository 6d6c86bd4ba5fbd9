package authoritytest

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	mjose "github.com/mayfly-pki/mayfly/internal/jose"
	"github.com/mayfly-pki/mayfly/provisioner/token"
)

// JWK is a JWK provisioner: its name and private signing key (kid = the RFC
// 7638 thumbprint, as step ca init writes it).
type JWK struct {
	Name string
	Key  *jose.JSONWebKey
}

// NewJWK creates a JWK provisioner called name with a new P-256 key.
func NewJWK(t testing.TB, name string) *JWK {
	t.Helper()
	k, err := mjose.NewSigningJWK(NewKey(t))
	if err != nil {
		t.Fatalf("NewSigningJWK: %v", err)
	}
	return &JWK{Name: name, Key: k}
}

// Public returns the public JWK.
func (j *JWK) Public() jose.JSONWebKey { return j.Key.Public() }

// Entry returns the ca.json entry {"type":"JWK","name":..,"key":<public JWK>}
// with extra's fields (e.g. "claims") added.
func (j *JWK) Entry(t testing.TB, extra map[string]any) json.RawMessage {
	t.Helper()
	m := map[string]any{"type": "JWK", "name": j.Name, "key": j.Public()}
	for k, v := range extra {
		m[k] = v
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatalf("marshal provisioner entry: %v", err)
	}
	return b
}

// Claims returns the claims step's CLI writes in a token for aud and sub at
// now: iss = the provisioner name, a random jti, iat = nbf = now, exp = now+5m.
func (j *JWK) Claims(t testing.TB, aud, sub string, now time.Time) *token.Claims {
	t.Helper()
	id, err := token.NewID()
	if err != nil {
		t.Fatalf("token.NewID: %v", err)
	}
	return &token.Claims{
		Audience:  token.Audience{aud},
		Issuer:    j.Name,
		Subject:   sub,
		ID:        id,
		IssuedAt:  token.NewNumericDate(now),
		NotBefore: token.NewNumericDate(now),
		Expiry:    token.NewNumericDate(now.Add(token.DefaultValidity)),
	}
}

// Sign signs c with the provisioner key.
func (j *JWK) Sign(t testing.TB, c *token.Claims) string {
	t.Helper()
	s, err := token.Sign(j.Key, c, nil)
	if err != nil {
		t.Fatalf("token.Sign: %v", err)
	}
	return s
}

// RenewToken mints an x5cInsecure renew token for leaf (chain = leaf then
// intermediates) signed by key, as `step ca renew --mtls=false` does (wire-spec
// §4.6). mod, when set, edits the claims before signing.
func RenewToken(t testing.TB, aud string, chain []*x509.Certificate, key crypto.Signer, now time.Time, mod func(*token.Claims)) string {
	t.Helper()
	jwk, err := mjose.NewSigningJWK(key)
	if err != nil {
		t.Fatalf("NewSigningJWK: %v", err)
	}
	x5c := make([]string, len(chain))
	for i, c := range chain {
		x5c[i] = base64.StdEncoding.EncodeToString(c.Raw)
	}
	c := &token.Claims{
		Audience:  token.Audience{aud},
		Issuer:    "step-ca-client/1.0",
		Subject:   chain[0].Subject.CommonName,
		IssuedAt:  token.NewNumericDate(now),
		NotBefore: token.NewNumericDate(now),
		Expiry:    token.NewNumericDate(now.Add(token.DefaultValidity)),
	}
	if mod != nil {
		mod(c)
	}
	s, err := token.Sign(jwk, c, map[string]any{"x5cInsecure": x5c})
	if err != nil {
		t.Fatalf("token.Sign: %v", err)
	}
	return s
}

// Background is a provisioner with background work (keys fetched by Run)
// that reports when it is ready to authorize.
type Background interface {
	Run(ctx context.Context) error
	Ready() <-chan struct{}
}

// RunUntilReady runs p's background work until the test ends and waits
// (30s at most) until p is ready; what names what it fetches, for the
// failure.
func RunUntilReady(t *testing.T, p Background, what string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = p.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-p.Ready():
	case <-time.After(30 * time.Second):
		t.Fatalf("%s were not fetched within 30s", what)
	}
}
