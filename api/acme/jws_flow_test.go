package acme_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

// signAs is a flattened JWS of payload by key with alg, over go-jose:
// a jwk when kid is empty.
func signAs(t *testing.T, alg jose.SignatureAlgorithm, key crypto.Signer, url, nonce, kid string, payload []byte) []byte {
	t.Helper()
	opts := &jose.SignerOptions{ExtraHeaders: map[jose.HeaderKey]any{"url": url, "nonce": nonce}}
	if kid == "" {
		opts.EmbedJWK = true
	} else {
		opts.ExtraHeaders["kid"] = kid
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := s.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(jws.FullSerialize()), &m); err != nil {
		t.Fatal(err)
	}
	m["payload"], _ = m["payload"].(string) // POST-as-GET: "payload": ""
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestJWSAlgorithms: an account of each algorithm registers (jwk) and
// reads itself back (kid, POST-as-GET) through the handler.
func TestJWSAlgorithms(t *testing.T) {
	t.Parallel()
	ca := newTestCA(t)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	_, ek, _ := ed25519.GenerateKey(rand.Reader)
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	for _, c := range []struct {
		alg jose.SignatureAlgorithm
		key crypto.Signer
	}{{jose.ES256, p256}, {jose.ES384, p384}, {jose.RS256, rk}, {jose.EdDSA, ek}} {
		cl := ca.client(t, "acme")
		u := cl.url("new-account")
		r := cl.postRaw(u, signAs(t, c.alg, c.key, u, cl.nonce(), "", []byte(`{"termsOfServiceAgreed":true}`)))
		if r.status != 201 {
			t.Fatalf("%s new-account: %d %s", c.alg, r.status, r.body)
		}
		kid := r.header.Get("Location")
		r = cl.postRaw(kid, signAs(t, c.alg, c.key, kid, cl.nonce(), kid, nil))
		if r.status != 200 || !strings.Contains(string(r.body), `"valid"`) {
			t.Fatalf("%s account: %d %s", c.alg, r.status, r.body)
		}
		// The same request under another algorithm's name is refused.
		other := jose.ES256
		if c.alg == jose.ES256 {
			other = jose.ES384
		}
		body := signAs(t, c.alg, c.key, kid, cl.nonce(), kid, nil)
		var m map[string]string
		_ = json.Unmarshal(body, &m)
		hdr := strings.Replace(string(mustB64(t, m["protected"])), `"`+string(c.alg)+`"`, `"`+string(other)+`"`, 1)
		m["protected"] = b64url(hdr)
		body, _ = json.Marshal(m)
		if r := cl.postRaw(kid, body); r.status != 400 || r.problem() != "malformed" {
			t.Fatalf("%s signature under %s: %d %s", c.alg, other, r.status, r.body)
		}
	}
}

// TestJWSNonceKept: a request refused for its header (url, unprotected
// header, serialization) does not use up its nonce; RFC 8555 §6.5 lets the
// client retry with it.
func TestJWSNonceKept(t *testing.T) {
	t.Parallel()
	ca := newTestCA(t)
	cl := ca.client(t, "acme")
	n := cl.nonce()
	u := cl.url("new-account")
	payload := []byte(`{"termsOfServiceAgreed":true}`)
	if r := cl.postRaw(u, cl.sign(cl.url("new-order"), payload, n, true, nil)); r.status != 401 || r.problem() != "unauthorized" {
		t.Fatalf("url mismatch: %d %s", r.status, r.body)
	}
	good := cl.sign(u, payload, n, true, nil)
	unprotected := strings.Replace(string(good), "{", `{"header":{"kid":"x"},`, 1)
	if r := cl.postRaw(u, []byte(unprotected)); r.status != 400 || !strings.Contains(string(r.body), "unprotected header") {
		t.Fatalf("unprotected header: %d %s", r.status, r.body)
	}
	var m map[string]string
	_ = json.Unmarshal(good, &m)
	compact := m["protected"] + "." + m["payload"] + "." + m["signature"]
	if r := cl.postRaw(u, []byte(compact)); r.status != 400 || !strings.Contains(string(r.body), "flattened JSON serialization") {
		t.Fatalf("compact: %d %s", r.status, r.body)
	}
	if r := cl.postRaw(u, good); r.status != 201 {
		t.Fatalf("the nonce after refused requests: %d %s", r.status, r.body)
	}
	if r := cl.postRaw(u, good); r.status != 400 || r.problem() != "badNonce" {
		t.Fatalf("the nonce reused: %d %s", r.status, r.body)
	}
}

func b64url(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func mustB64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
