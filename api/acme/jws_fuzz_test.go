package acme

import (
	"bytes"
	"crypto"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

// FuzzJWSDifferential mutates valid flattened JWS of every algorithm (kid
// and jwk, POST-as-GET and a payload): whenever parseFlat and verify
// accept a body, go-jose must accept it too, with the same key, and read
// the same header and payload. go-jose may accept more (compact and
// general serializations, escapes, duplicate-free case variants...); the
// reverse would be a signature our parser reads differently.
func FuzzJWSDifferential(f *testing.F) {
	keys := testKeys()
	for i, k := range keys {
		for _, payload := range []string{"", `{"identifiers":[{"type":"dns","value":"a.test"}]}`} {
			f.Add(uint8(i), flat(f, k.priv, header(f, k.alg, k.pub()), payload, nil))
			f.Add(uint8(i), flat(f, k.priv, header(f, k.alg, nil), payload, nil))
		}
		s, err := jose.NewSigner(jose.SigningKey{Algorithm: k.alg, Key: k.priv},
			&jose.SignerOptions{EmbedJWK: true, ExtraHeaders: map[jose.HeaderKey]any{"url": testURL, "nonce": "n"}})
		if err != nil {
			f.Fatal(err)
		}
		jws, err := s.Sign([]byte(`{"termsOfServiceAgreed":true}`))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint8(i), []byte(jws.FullSerialize()))
	}
	f.Fuzz(func(t *testing.T, ki uint8, body []byte) {
		j, err := parseFlat(body)
		if err != nil {
			return
		}
		key := keys[int(ki)%len(keys)].pub()
		if j.jwk != nil {
			key = j.jwk.Key
		}
		if j.verify(key) != nil {
			return
		}
		agree(t, body, j, key)
	})
}

// FuzzJWSHeaderDifferential signs arbitrary protected headers and payloads
// (so the signature always fits what is parsed) and checks as
// FuzzJWSDifferential does: every header parseFlat accepts, go-jose reads
// the same way.
func FuzzJWSHeaderDifferential(f *testing.F) {
	keys := testKeys()
	for i, k := range keys {
		f.Add(uint8(i), header(f, k.alg, k.pub()), "")
		f.Add(uint8(i), header(f, k.alg, nil, `"x":{"y":[1,"\"",null]}`), `{"a":1}`)
	}
	f.Add(uint8(0), `{"alg":"ES256","url":"https:\/\/a","kid":"\u006b","nonce":"\ud83d\ude00"}`, "x")
	f.Add(uint8(0), `{"alg":"ES256","nonce":"n","url":"`+testURL+`","kid":"k","xa":1,"xb":[2]}`, "")
	f.Add(uint8(3), "{\"alg\":\"EdDSA\",\"url\":\"u\",\"kid\":\"k\",\"\xff\":1,\"\xc3\xa9\":\"\xfe\"}", "")
	f.Fuzz(func(t *testing.T, ki uint8, hdr, payload string) {
		if len(hdr)+len(payload) > 4096 {
			return
		}
		k := keys[int(ki)%len(keys)]
		body := flat(t, k.priv, hdr, payload, nil)
		j, err := parseFlat(body)
		if err != nil {
			return
		}
		key := k.pub()
		if j.jwk != nil {
			key = j.jwk.Key
		}
		if j.verify(key) != nil {
			return
		}
		agree(t, body, j, key)
	})
}

// agree fails t unless go-jose accepts body, signed by key, as j.
func agree(t *testing.T, body []byte, j *flatJWS, key crypto.PublicKey) {
	t.Helper()
	jws, err := jose.ParseSigned(string(body), Algorithms)
	if err != nil {
		t.Fatalf("accepted, but go-jose does not parse it: %v\n%s", err, body)
	}
	if len(jws.Signatures) != 1 {
		t.Fatalf("accepted, but go-jose reads %d signatures\n%s", len(jws.Signatures), body)
	}
	sig := jws.Signatures[0]
	if u := sig.Unprotected; u.Algorithm != "" || u.KeyID != "" || u.JSONWebKey != nil || u.Nonce != "" || len(u.ExtraHeaders) > 0 {
		t.Fatalf("accepted, but go-jose reads an unprotected header %+v\n%s", u, body)
	}
	h := sig.Protected
	u, _ := h.ExtraHeaders["url"].(string)
	if h.Algorithm != string(j.alg) || h.Nonce != j.nonce || h.KeyID != j.kid || u != j.url {
		t.Fatalf("go-jose reads alg %q nonce %q kid %q url %q; we read %q %q %q %q\n%s",
			h.Algorithm, h.Nonce, h.KeyID, u, j.alg, j.nonce, j.kid, j.url, body)
	}
	if (h.JSONWebKey == nil) != (j.jwk == nil) {
		t.Fatalf("go-jose reads jwk %v, we read %v\n%s", h.JSONWebKey, j.jwk, body)
	}
	if j.jwk != nil {
		a, err1 := h.JSONWebKey.Thumbprint(crypto.SHA256)
		b, err2 := j.jwk.Thumbprint(crypto.SHA256)
		if err1 != nil || err2 != nil || !bytes.Equal(a, b) {
			t.Fatalf("go-jose and we read different jwks (%v, %v)\n%s", err1, err2, body)
		}
	}
	payload, err := jws.Verify(key)
	if err != nil {
		t.Fatalf("accepted, but go-jose does not verify it: %v\n%s", err, body)
	}
	if !bytes.Equal(payload, j.payload) {
		t.Fatalf("go-jose reads payload %q, we read %q\n%s", payload, j.payload, body)
	}
}

// BenchmarkVerify: parse and verify of an account-signed (kid) ES256
// request, ours against the go-jose path it replaces.
func BenchmarkVerify(b *testing.B) {
	k := testKeys()[0]
	jwk := &jose.JSONWebKey{Key: k.pub()}
	for _, c := range []struct{ name, payload string }{
		{"ES256-post-as-get", ""},
		{"ES256-small", `{"identifiers":[{"type":"dns","value":"www.example.com"}]}`},
	} {
		body := flat(b, k.priv, header(b, jose.ES256, nil), c.payload, nil)
		b.Run("mayfly/"+c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				j, err := parseFlat(body)
				if err != nil {
					b.Fatal(err)
				}
				if err := j.verify(jwk.Key); err != nil || j.url != testURL || len(j.payload) != len(c.payload) {
					b.Fatal(err)
				}
			}
		})
		b.Run("go-jose/"+c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				jws, err := jose.ParseSigned(string(body), Algorithms)
				if err != nil {
					b.Fatal(err)
				}
				if u, _ := jws.Signatures[0].Protected.ExtraHeaders["url"].(string); u != testURL {
					b.Fatal(u)
				}
				p, err := jws.Verify(jwk)
				if err != nil || len(p) != len(c.payload) {
					b.Fatal(err)
				}
			}
		})
	}
}
