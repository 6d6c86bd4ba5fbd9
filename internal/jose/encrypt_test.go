package jose

import (
	"crypto"
	"crypto/elliptic"
	"encoding/base64"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

// stepExampleJWE is the "encryptedKey" of the JWK provisioner in step-ca's
// documented example ca.json, written by the real step CLI (p2c 100000).
// Its password is "password" and its kid is stepExampleKID.
const (
	stepExampleJWE = "eyJhbGciOiJQQkVTMi1IUzI1NitBMTI4S1ciLCJjdHkiOiJqd2sranNvbiIsImVuYyI6IkEyNTZHQ00iLCJwMmMiOjEwMDAwMCwicDJzIjoiVERQS2dzcEItTUR4ZDJxTGo0VlpwdyJ9.2_j0cZgTm2eFkZ-hrtr1hBIvLxN0w3TZhbX0Jrrq7vBMaywhgFcGTA.mCasZCbZJ-JT7vjA.bW052WDKSf_ueEXq1dyxLq0n3qXWRO-LXr7OzBLdUKWKSBGQrzqS5KJWqdUCPoMIHTqpwYvm-iD6uFlcxKBYxnsAG_hoq_V3icvvwNQQSd_q7Thxr2_KtPIDJWNuX1t5qXp11hkgb-8d5HO93CmN7xNDG89pzSUepT6RYXOZ483mP5fre9qzkfnrjx3oPROCnf3SnIVUvqk7fwfXuniNsg3NrNqncHYUQNReiq3e9I1R60w0ZQTvIReY7-zfiq7iPgVqmu5I7XGgFK4iBv0L7UOEora65b4hRWeLxg5t7OCfUqrS9yxAk8FdjFb9sEfjopWViPRepB0dYPH8dVI.fb6-7XWqp0j6CR9Li0NI-Q"
	stepExampleKID = "YYNxZ0rq0WsT2MlqLCWvgme3jszkmt99KjoGEJJwAKs"
)

func TestDecryptStepJWE(t *testing.T) {
	t.Parallel()
	jwk, err := DecryptJWK(stepExampleJWE, []byte("password"))
	if err != nil {
		t.Fatal(err)
	}
	kid, err := Thumbprint(jwk)
	if err != nil {
		t.Fatal(err)
	}
	if jwk.KeyID != stepExampleKID || kid != stepExampleKID {
		t.Fatalf("kid %q, thumbprint %q, want %q", jwk.KeyID, kid, stepExampleKID)
	}
	if jwk.IsPublic() || jwk.Algorithm != "ES256" || jwk.Use != "sig" {
		t.Fatalf("unexpected JWK: public=%v alg=%q use=%q", jwk.IsPublic(), jwk.Algorithm, jwk.Use)
	}
	if _, err := DecryptJWK(stepExampleJWE, []byte("Password")); !errors.Is(err, ErrBadPassword) {
		t.Fatalf("wrong password: err = %v, want ErrBadPassword", err)
	}
}

// One round trip at step's real cost, checking the header byte for byte.
func TestEncryptJWKStepFormat(t *testing.T) {
	t.Parallel()
	jwk, err := NewSigningJWK(mustEC(t, elliptic.P256()))
	if err != nil {
		t.Fatal(err)
	}
	compact, err := EncryptJWK(jwk, []byte("pass"))
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(compact, ".")
	if len(parts) != 5 {
		t.Fatalf("%d parts, want 5", len(parts))
	}
	header, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`^\{"alg":"PBES2-HS256\+A128KW","cty":"jwk\+json","enc":"A256GCM","p2c":600000,"p2s":"([A-Za-z0-9_-]+)"\}$`)
	m := re.FindStringSubmatch(string(header))
	if m == nil {
		t.Fatalf("protected header %s does not match step's", header)
	}
	wantLens := []struct {
		name string
		b64  string
		n    int
	}{{"p2s", m[1], 16}, {"encrypted key", parts[1], 40}, {"IV", parts[2], 12}, {"tag", parts[4], 16}}
	for _, w := range wantLens {
		b, err := base64.RawURLEncoding.DecodeString(w.b64)
		if err != nil || len(b) != w.n {
			t.Fatalf("%s: %d bytes (%v), want %d", w.name, len(b), err, w.n)
		}
	}
	got, err := DecryptJWK(compact, []byte("pass"))
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(jwk)
	b, _ := json.Marshal(got)
	if string(a) != string(b) {
		t.Fatalf("round trip changed the JWK:\n%s\n%s", a, b)
	}
}

func TestEncryptDecryptFast(t *testing.T) {
	t.Parallel()
	for _, k := range []*jose.JSONWebKey{mustJWK(t, mustEC(t, elliptic.P384())), mustJWK(t, mustEd(t))} {
		compact, err := encryptJWK(k, []byte("secret"), 1000)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecryptJWK(compact, []byte("secret"))
		if err != nil {
			t.Fatal(err)
		}
		if got.KeyID != k.KeyID || got.IsPublic() {
			t.Fatalf("round trip: kid %q public %v", got.KeyID, got.IsPublic())
		}
		if _, err := DecryptJWK(compact, []byte("Secret")); !errors.Is(err, ErrBadPassword) {
			t.Fatalf("wrong password: err = %v, want ErrBadPassword", err)
		}
		if _, err := DecryptJWK(compact, nil); !errors.Is(err, ErrPasswordRequired) {
			t.Fatalf("nil password: err = %v, want ErrPasswordRequired", err)
		}
	}
	if _, err := encryptJWK(mustJWK(t, mustEd(t)), nil, 1000); !errors.Is(err, ErrPasswordRequired) {
		t.Fatalf("encrypt with nil password: err = %v", err)
	}
	if _, err := encryptJWK(nil, []byte("x"), 1000); err == nil {
		t.Fatalf("encrypt nil key succeeded")
	}
}

func mustJWK(t *testing.T, k interface {
	Public() crypto.PublicKey
}) *jose.JSONWebKey {
	t.Helper()
	s, ok := k.(crypto.Signer)
	if !ok {
		t.Fatal("not a signer")
	}
	jwk, err := NewSigningJWK(s)
	if err != nil {
		t.Fatal(err)
	}
	return jwk
}

func TestDecryptJWKMalformed(t *testing.T) {
	t.Parallel()
	pubJWK := &jose.JSONWebKey{Key: mustEC(t, elliptic.P256()).Public()}
	pubJWE, err := encryptJWK(pubJWK, []byte("pw"), 10)
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.RawURLEncoding.EncodeToString
	parts := strings.Split(stepExampleJWE, ".")
	withHeader := func(h string) string { return b64([]byte(h)) + "." + strings.Join(parts[1:], ".") }
	tests := []struct {
		name, in string
	}{
		{"empty", ""},
		{"garbage", "not a jwe"},
		{"four parts", strings.Join(parts[:4], ".")},
		{"header not base64", "!!!." + strings.Join(parts[1:], ".")},
		{"header not JSON", withHeader("nope")},
		{"p2c too high", withHeader(`{"alg":"PBES2-HS256+A128KW","enc":"A256GCM","p2c":2000000,"p2s":"TDPKgspB-MDxd2qLj4VZpw"}`)},
		{"p2c zero", withHeader(`{"alg":"PBES2-HS256+A128KW","enc":"A256GCM","p2c":0,"p2s":"TDPKgspB-MDxd2qLj4VZpw"}`)},
		{"not PBES2", withHeader(`{"alg":"dir","enc":"A256GCM"}`)},
		{"public key plaintext", pubJWE},
	}
	for _, tt := range tests {
		_, err := DecryptJWK(tt.in, []byte("pw"))
		if !errors.Is(err, ErrMalformedJWE) {
			t.Fatalf("%s: err = %v, want ErrMalformedJWE", tt.name, err)
		}
	}
}
