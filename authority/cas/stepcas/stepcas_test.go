package stepcas

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/mayfly-pki/mayfly/ca/client"
	"github.com/mayfly-pki/mayfly/internal/errs"
	mjose "github.com/mayfly-pki/mayfly/internal/jose"
	"github.com/mayfly-pki/mayfly/provisioner/token"
)

func write(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func newKey(t *testing.T) (*ecdsa.PrivateKey, *jose.JSONWebKey) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jwk, err := mjose.NewSigningJWK(k)
	if err != nil {
		t.Fatal(err)
	}
	return k, jwk
}

// The issuer's key is read in each form step writes, and the token it mints
// verifies with the key's public half and carries the key's thumbprint.
func TestJWKIssuerKeyForms(t *testing.T) {
	k, jwk := newKey(t)
	pw := []byte("pass")
	jwe, err := mjose.EncryptJWK(jwk, pw)
	if err != nil {
		t.Fatal(err)
	}
	js, err := json.Marshal(jwk)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
	thumb, err := mjose.Thumbprint(jwk)
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		data []byte
		pw   []byte
	}{"jwe": {[]byte(jwe), pw}, "json": {js, nil}, "pem": {pemKey, nil}} {
		t.Run(name, func(t *testing.T) {
			iss, err := newTokenIssuer(IssuerOptions{Type: "JWK", Provisioner: "ra", Key: write(t, "key", c.data), Password: c.pw})
			if err != nil {
				t.Fatal(err)
			}
			now := time.Now()
			raw, err := iss.sign(&token.Claims{Subject: "x", Issuer: "ra", Expiry: token.NewNumericDate(now.Add(time.Minute))})
			if err != nil {
				t.Fatal(err)
			}
			tok, err := token.Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			if err := tok.Verify(jose.JSONWebKey{Key: &k.PublicKey}); err != nil {
				t.Fatalf("token does not verify with the issuer key: %v", err)
			}
			if kid := tok.Header.KeyID; name != "json" && kid != thumb {
				t.Fatalf("kid %q, want the thumbprint %q", kid, thumb)
			}
		})
	}
}

func TestIssuerErrors(t *testing.T) {
	_, jwk := newKey(t)
	jwe, err := mjose.EncryptJWK(jwk, []byte("pass"))
	if err != nil {
		t.Fatal(err)
	}
	jweFile := write(t, "k.jwe", []byte(jwe))
	other, _ := newKey(t)
	der, _ := x509.MarshalECPrivateKey(other)
	otherPEM := write(t, "other.key", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}))
	cert := selfSigned(t)
	certFile := write(t, "c.crt", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}))
	for _, c := range []struct {
		name string
		o    IssuerOptions
		want string
	}{
		{"no password", IssuerOptions{Type: "jwk", Provisioner: "p", Key: jweFile}, "--issuer-password-file"},
		{"wrong password", IssuerOptions{Type: "jwk", Provisioner: "p", Key: jweFile, Password: []byte("nope")}, jweFile},
		{"unknown type", IssuerOptions{Type: "oidc", Provisioner: "p", Key: jweFile}, `unknown issuer type "oidc"`},
		{"no provisioner", IssuerOptions{Type: "jwk", Key: jweFile}, "certificateIssuer.provisioner"},
		{"missing key file", IssuerOptions{Type: "jwk", Provisioner: "p", Key: filepath.Join(t.TempDir(), "none")}, "certificateIssuer.key"},
		{"x5c key not the certificate's", IssuerOptions{Type: "x5c", Provisioner: "p", Certificate: certFile, Key: otherPEM}, "is not the key of the certificate"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := newTokenIssuer(c.o)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want one containing %q", err, c.want)
			}
			if c.o.Password != nil && strings.Contains(err.Error(), string(c.o.Password)) {
				t.Fatalf("the error shows the password: %v", err)
			}
		})
	}
}

func selfSigned(t *testing.T) *x509.Certificate {
	t.Helper()
	k, _ := newKey(t)
	tmpl := &x509.Certificate{SerialNumber: bigOne(), NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Upstream answers map to kinds, with the upstream named in the message
// the client sees.
func TestUpstreamError(t *testing.T) {
	s := &CAS{url: "https://up.example:9000"}
	for _, c := range []struct {
		err  error
		kind errs.Kind
		msg  string
	}{
		{&client.APIError{Status: 400, Message: "bad csr"}, errs.BadRequest, "upstream CA https://up.example:9000 answered 400: bad csr"},
		{&client.APIError{Status: 401, Message: "no"}, errs.Internal, "answered 401: no"},
		{&client.APIError{Status: 403, Message: "policy"}, errs.Forbidden, "answered 403: policy"},
		{&client.APIError{Status: 503, Message: "down"}, errs.Unavailable, "answered 503: down"},
		{errors.New("dial tcp: connection refused"), errs.Unavailable, "upstream CA https://up.example:9000 is unavailable"},
	} {
		e := errs.As(s.upstreamError(c.err))
		if e == nil || e.Kind != c.kind || !e.Exact || !strings.Contains(e.Detail, c.msg) {
			t.Fatalf("upstreamError(%v) = %+v, want kind %v with %q", c.err, e, c.kind, c.msg)
		}
	}
}

func bigOne() *big.Int { return big.NewInt(1) }
