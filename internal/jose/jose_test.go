package jose

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"regexp"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

func mustEC(t *testing.T, c elliptic.Curve) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustEd(t *testing.T) ed25519.PrivateKey {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// rfc7638Key is the RSA key of RFC 7638 §3.1, whose thumbprint is given there.
func rfc7638Key(t *testing.T) *rsa.PublicKey {
	t.Helper()
	n, err := base64.RawURLEncoding.DecodeString("0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw")
	if err != nil {
		t.Fatal(err)
	}
	return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: 65537}
}

func TestThumbprintRFC7638(t *testing.T) {
	t.Parallel()
	got, err := Thumbprint(&jose.JSONWebKey{Key: rfc7638Key(t)})
	if err != nil {
		t.Fatal(err)
	}
	if want := "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"; got != want {
		t.Fatalf("Thumbprint = %s, want %s", got, want)
	}
}

func TestThumbprintPrivateEqualsPublic(t *testing.T) {
	t.Parallel()
	for _, k := range []crypto.Signer{mustEC(t, elliptic.P256()), mustEd(t)} {
		priv, err := Thumbprint(&jose.JSONWebKey{Key: k})
		if err != nil {
			t.Fatal(err)
		}
		pub, err := Thumbprint(&jose.JSONWebKey{Key: k.Public()})
		if err != nil {
			t.Fatal(err)
		}
		if priv != pub || len(priv) != 43 {
			t.Fatalf("%T: private %q, public %q", k, priv, pub)
		}
	}
	for _, bad := range []*jose.JSONWebKey{nil, {}, {Key: "x"}} {
		if _, err := Thumbprint(bad); err == nil {
			t.Fatalf("Thumbprint(%v) succeeded", bad)
		}
	}
}

func TestSigningAlgorithm(t *testing.T) {
	t.Parallel()
	ed := mustEd(t)
	p256 := mustEC(t, elliptic.P256())
	tests := []struct {
		name string
		key  crypto.PublicKey
		want jose.SignatureAlgorithm
	}{
		{"P-256 public", p256.Public(), jose.ES256},
		{"P-256 private", p256, jose.ES256},
		{"P-384", mustEC(t, elliptic.P384()).Public(), jose.ES384},
		{"P-521", mustEC(t, elliptic.P521()).Public(), jose.ES512},
		{"RSA", rfc7638Key(t), jose.RS256},
		{"Ed25519 public", ed.Public(), jose.EdDSA},
		{"Ed25519 private", ed, jose.EdDSA},
		{"Ed25519 pointer", &ed, jose.EdDSA},
	}
	for _, tt := range tests {
		got, err := SigningAlgorithm(tt.key)
		if err != nil || got != tt.want {
			t.Fatalf("%s: SigningAlgorithm = %q, %v; want %q", tt.name, got, err, tt.want)
		}
	}
	for _, bad := range []crypto.PublicKey{nil, "key", mustEC(t, elliptic.P224()).Public(), ed25519.PublicKey{1}} {
		if _, err := SigningAlgorithm(bad); !errors.Is(err, ErrUnsupportedKey) {
			t.Fatalf("SigningAlgorithm(%T): err = %v, want ErrUnsupportedKey", bad, err)
		}
	}
}

// The JSON must have step's member order and content.
func TestNewSigningJWKShape(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		key   crypto.Signer
		order []string
		alg   string
	}{
		{"EC", mustEC(t, elliptic.P256()), []string{"use", "kty", "kid", "crv", "alg", "x", "y", "d"}, "ES256"},
		{"OKP", mustEd(t), []string{"use", "kty", "kid", "crv", "alg", "x", "d"}, "EdDSA"},
	}
	for _, tt := range tests {
		jwk, err := NewSigningJWK(tt.key)
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(jwk)
		if err != nil {
			t.Fatal(err)
		}
		keys := regexp.MustCompile(`"([a-z]+)":`).FindAllStringSubmatch(string(b), -1)
		var got []string
		for _, k := range keys {
			got = append(got, k[1])
		}
		if strings.Join(got, ",") != strings.Join(tt.order, ",") {
			t.Fatalf("%s: members %v, want %v (%s)", tt.name, got, tt.order, b)
		}
		kid, err := Thumbprint(&jose.JSONWebKey{Key: tt.key.Public()})
		if err != nil {
			t.Fatal(err)
		}
		if jwk.KeyID != kid || jwk.Use != "sig" || jwk.Algorithm != tt.alg {
			t.Fatalf("%s: kid %q use %q alg %q", tt.name, jwk.KeyID, jwk.Use, jwk.Algorithm)
		}
		if !strings.HasPrefix(string(b), `{"use":"sig","kty":"`+tt.name+`","kid":"`+kid+`"`) {
			t.Fatalf("%s: JSON %s", tt.name, b)
		}
	}
	if _, err := NewSigningJWK(nil); err == nil {
		t.Fatalf("NewSigningJWK(nil) succeeded")
	}
}
