package acme

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"net/http/httptest"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/mayfly-pki/mayfly/authority/acme"
)

// TestParseFlatValid: every algorithm, with an embedded jwk and with a
// kid, POST-as-GET and a payload, parses to the header that was signed and
// verifies with the key; go-jose agrees on each body.
func TestParseFlatValid(t *testing.T) {
	for _, k := range testKeys() {
		for _, withJWK := range []bool{true, false} {
			for _, payload := range []string{"", `{"identifiers":[{"type":"dns","value":"a.test"}]}`} {
				var pub any
				if withJWK {
					pub = k.pub()
				}
				body := flat(t, k.priv, header(t, k.alg, pub), payload, nil)
				j, err := parseFlat(body)
				if err != nil {
					t.Fatalf("%s jwk=%v %q: %v", k.alg, withJWK, payload, err)
				}
				if j.alg != k.alg || j.nonce != "bm9uY2U" || j.url != testURL || (j.jwk != nil) != withJWK ||
					(j.kid == "") != withJWK || string(j.payload) != payload {
					t.Fatalf("%s jwk=%v: parsed %+v", k.alg, withJWK, j)
				}
				key := k.pub()
				if withJWK {
					key = j.jwk.Key
				}
				if err := j.verify(key); err != nil {
					t.Fatalf("%s jwk=%v %q: verify: %v", k.alg, withJWK, payload, err)
				}
				jws, err := jose.ParseSigned(string(body), Algorithms)
				if err != nil {
					t.Fatalf("go-jose parse: %v", err)
				}
				if got, err := jws.Verify(k.pub()); err != nil || string(got) != payload {
					t.Fatalf("go-jose verify: %q %v", got, err)
				}
			}
		}
	}
}

// TestParseFlatGoJOSE: a body go-jose signs (members in its order, its
// header encoding) is accepted, and JSON whitespace and a url with escaped
// slashes (as PHP's json_encode writes it) are accepted.
func TestParseFlatGoJOSE(t *testing.T) {
	for _, k := range testKeys() {
		s, err := jose.NewSigner(jose.SigningKey{Algorithm: k.alg, Key: k.priv},
			&jose.SignerOptions{EmbedJWK: true, ExtraHeaders: map[jose.HeaderKey]any{"url": testURL, "nonce": "n"}})
		if err != nil {
			t.Fatal(err)
		}
		jws, err := s.Sign([]byte(`{"termsOfServiceAgreed":true}`))
		if err != nil {
			t.Fatal(err)
		}
		j, err := parseFlat([]byte(jws.FullSerialize()))
		if err != nil {
			t.Fatalf("%s: %v", k.alg, err)
		}
		if err := j.verify(j.jwk.Key); err != nil || j.url != testURL || j.nonce != "n" {
			t.Fatalf("%s: %v %+v", k.alg, err, j)
		}
	}
	k := testKeys()[0]
	hdr := `{ "alg" : "ES256" ,"nonce":"n", "url":"https:\/\/ca.example\/acme\/acme\/new-order", "kid":"k", "x-ext": {"a":[1,2,{"b":null}]}, "n": 1.5e3 }`
	body := bytes.ReplaceAll(flat(t, k.priv, hdr, "{}", nil), []byte(","), []byte(" ,\n\t"))
	body = append(append([]byte("\r\n "), body...), '\n')
	j, err := parseFlat(body)
	if err != nil {
		t.Fatal(err)
	}
	if j.url != testURL || j.kid != "k" || j.verify(k.pub()) != nil {
		t.Fatalf("parsed %+v", j)
	}
}

func TestParseFlatRejects(t *testing.T) {
	k := testKeys()[0]
	rk := testKeys()[2]
	ok := flat(t, k.priv, header(t, jose.ES256, nil), "{}", nil)
	okStr := string(ok)
	var m struct{ Protected, Payload, Signature string }
	if err := json.Unmarshal(ok, &m); err != nil {
		t.Fatal(err)
	}
	withHeader := func(hdr string) []byte { return flat(t, k.priv, hdr, "{}", nil) }
	body := func(prot, pay, sig string) []byte {
		return []byte(`{"protected":"` + prot + `","payload":"` + pay + `","signature":"` + sig + `"}`)
	}
	compact, err := jose.ParseSigned(okStr, Algorithms)
	if err != nil {
		t.Fatal(err)
	}
	compactStr, err := compact.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	privJWK, err := json.Marshal(jose.JSONWebKey{Key: k.priv})
	if err != nil {
		t.Fatal(err)
	}
	many := header(t, jose.ES256, nil)
	for i := range maxHeaderMembers {
		many = strings.TrimSuffix(many, "}") + `,"x` + string(rune('a'+i)) + `":1}`
	}
	// setTrailingBits sets the unused low bits of the last character of an
	// unpadded base64url string (Strict decoding refuses them).
	setTrailingBits := func(s string) string {
		const alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
		i := strings.IndexByte(alpha, s[len(s)-1])
		return s[:len(s)-1] + string(alpha[i|1])
	}
	cases := []struct {
		name string
		body []byte
		typ  acme.ProblemType
		msg  string
	}{
		{"empty body", nil, acme.Malformed, "flattened JSON serialization"},
		{"not JSON", []byte("not a jws"), acme.Malformed, "flattened JSON serialization"},
		{"compact serialization", []byte(compactStr), acme.Malformed, "flattened JSON serialization"},
		{"JSON array", []byte(`[` + okStr + `]`), acme.Malformed, "flattened JSON serialization"},
		{"empty object", []byte(`{}`), acme.Malformed, "no protected member"},
		{"general serialization", []byte(`{"payload":"` + m.Payload + `","signatures":[{"protected":"` + m.Protected + `","signature":"` + m.Signature + `"}]}`),
			acme.Malformed, "not the general one"},
		{"unprotected header", []byte(strings.Replace(okStr, `{`, `{"header":{"kid":"x"},`, 1)), acme.Malformed, "unprotected header"},
		{"unprotected header last", []byte(strings.TrimSuffix(okStr, "}") + `,"header":{}}`), acme.Malformed, "unprotected header"},
		{"unknown member", []byte(strings.TrimSuffix(okStr, "}") + `,"foo":"YQ"}`), acme.Malformed, `unknown member "foo"`},
		{"member name case", []byte(strings.Replace(okStr, `"protected"`, `"Protected"`, 1)), acme.Malformed, `unknown member "Protected"`},
		{"escaped member name", []byte(strings.Replace(okStr, `"payload"`, `"p\u0061yload"`, 1)), acme.Malformed, "escaped member name"},
		{"duplicate member", []byte(strings.TrimSuffix(okStr, "}") + `,"payload":"e30"}`), acme.Malformed, `member "payload" twice`},
		{"no payload", []byte(`{"protected":"` + m.Protected + `","signature":"` + m.Signature + `"}`), acme.Malformed, "no payload member"},
		{"no signature", []byte(`{"protected":"` + m.Protected + `","payload":"` + m.Payload + `"}`), acme.Malformed, "no signature member"},
		{"non-string payload", []byte(`{"protected":"` + m.Protected + `","payload":{},"signature":"` + m.Signature + `"}`), acme.Malformed, `"payload" is not a string`},
		{"null signature", []byte(`{"protected":"` + m.Protected + `","payload":"` + m.Payload + `","signature":null}`), acme.Malformed, `"signature" is not a string`},
		{"escape in a value", body(m.Protected, `\u0065\u0033\u0030`, m.Signature), acme.Malformed, `"payload" is not unpadded base64url`},
		{"padded protected", body(m.Protected+"=", m.Payload, m.Signature), acme.Malformed, `"protected" is padded base64`},
		{"padded payload", body(m.Protected, "e30=", m.Signature), acme.Malformed, `"payload" is padded base64`},
		{"padded signature", body(m.Protected, m.Payload, m.Signature+"=="), acme.Malformed, `"signature" is padded base64`},
		{"standard alphabet", body(m.Protected, base64.StdEncoding.EncodeToString([]byte{0xfb, 0xff}), m.Signature), acme.Malformed, "not unpadded base64url"},
		{"bad base64 length", body(m.Protected, "e30ab", m.Signature), acme.Malformed, `"payload" is not unpadded base64url`},
		{"non-canonical base64", body(m.Protected, m.Payload, setTrailingBits(m.Signature)), acme.Malformed, `"signature" is not unpadded base64url`},
		{"trailing data", append(ok[:len(ok):len(ok)], "{}"...), acme.Malformed, "data after the JWS object"},
		{"unterminated", ok[:len(ok)-1], acme.Malformed, "not valid JSON"},
		{"trailing comma", []byte(strings.TrimSuffix(okStr, "}") + ",}"), acme.Malformed, "not valid JSON"},
		{"control character", []byte(strings.Replace(okStr, `"payload"`, "\"pay\x01load\"", 1)), acme.Malformed, "not valid JSON"},
		{"over the size limit", append(bytes.Repeat([]byte(" "), MaxBodySize), ok...), acme.Malformed, "over"},

		{"header not JSON", withHeader(`{"alg":"ES256"`), acme.Malformed, "protected header is not valid JSON"},
		{"header not an object", withHeader(`["alg","ES256"]`), acme.Malformed, "not a JSON object"},
		{"header empty", withHeader(``), acme.Malformed, "not valid JSON"},
		{"header duplicate alg", withHeader(strings.Replace(header(t, jose.ES256, nil), `{`, `{"alg":"HS256",`, 1)), acme.Malformed, `"alg" twice`},
		{"header duplicate unknown", withHeader(header(t, jose.ES256, nil, `"x":1`, `"x":2`)), acme.Malformed, `"x" twice`},
		{"header escaped name", withHeader(header(t, jose.ES256, nil, `"\u006bid":"k"`)), acme.Malformed, "escaped member name"},
		{"header name not UTF-8", withHeader(header(t, jose.ES256, nil, "\"\xff\":1", "\"\xfe\":2")), acme.Malformed, "not UTF-8"},
		{"header too many members", withHeader(many), acme.Malformed, "more than"},
		{"crit", withHeader(header(t, jose.ES256, nil, `"crit":["b64"]`, `"b64":false`)), acme.Malformed, "no JWS extension"},
		{"b64", withHeader(header(t, jose.ES256, nil, `"b64":true`)), acme.Malformed, `"b64"`},
		{"alg missing", withHeader(`{"nonce":"n","url":"` + testURL + `","kid":"k"}`), acme.BadSignatureAlgorithm, "ES256, ES384, RS256 or EdDSA"},
		{"alg HS256", withHeader(header(t, jose.HS256, nil)), acme.BadSignatureAlgorithm, "not supported"},
		{"alg none", withHeader(header(t, "none", nil)), acme.BadSignatureAlgorithm, "not supported"},
		{"alg PS256", flat(t, rk.priv, header(t, jose.PS256, nil), "{}", nil), acme.BadSignatureAlgorithm, "not supported"},
		{"alg lower case", withHeader(header(t, "es256", nil)), acme.BadSignatureAlgorithm, "not supported"},
		{"alg not a string", withHeader(strings.Replace(header(t, jose.ES256, nil), `"ES256"`, `256`, 1)), acme.BadSignatureAlgorithm, "not supported"},
		{"nonce not a string", withHeader(strings.Replace(header(t, jose.ES256, nil), `"bm9uY2U"`, `7`, 1)), acme.Malformed, `"nonce" is not a string`},
		{"kid null", withHeader(strings.Replace(header(t, jose.ES256, nil), `"https://ca.example/acme/acme/account/a1"`, `null`, 1)), acme.Malformed, `"kid" is not a string`},
		{"url not a string", withHeader(strings.Replace(header(t, jose.ES256, nil), `"`+testURL+`"`, `["`+testURL+`"]`, 1)), acme.Malformed, `"url" is not a string`},
		{"jwk private", withHeader(`{"alg":"ES256","nonce":"n","url":"` + testURL + `","jwk":` + string(privJWK) + `}`), acme.Malformed, "must be a public key"},
		{"jwk not a key", withHeader(`{"alg":"ES256","nonce":"n","url":"` + testURL + `","jwk":{"kty":"EC"}}`), acme.Malformed, "not a valid JWK"},
		{"jwk a string", withHeader(`{"alg":"ES256","nonce":"n","url":"` + testURL + `","jwk":"key"}`), acme.Malformed, "not a valid JWK"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			j, err := parseFlat(c.body)
			if err == nil {
				t.Fatalf("accepted %s as %+v", c.body, j)
			}
			p := acme.ProblemOf(err)
			if p.Type != c.typ || !strings.Contains(p.Detail, c.msg) {
				t.Fatalf("got %s %q, want %s with %q", p.Type, p.Detail, c.typ, c.msg)
			}
			if strings.Contains(p.Detail, "\n") {
				t.Fatalf("the problem detail is more than one line: %q", p.Detail)
			}
		})
	}
}

// TestVerifyRejects: bodies that parse but whose signature must not
// verify: the algorithm does not fit the key, the signature has the wrong
// length or encoding, r is zero, the key is weak, the payload was changed.
func TestVerifyRejects(t *testing.T) {
	keys := testKeys()
	es256, es384, rs256, eddsa := keys[0], keys[1], keys[2], keys[3]
	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	type tc struct {
		name string
		alg  jose.SignatureAlgorithm // in the header
		key  testKey                 // signs (in its own scheme) and verifies
		sig  func([]byte) []byte
	}
	cases := []tc{
		{"ES256 with a P-384 key", jose.ES256, es384, nil},
		{"ES384 with a P-256 key", jose.ES384, es256, nil},
		{"RS256 with a P-256 key", jose.RS256, es256, nil},
		{"ES256 with an RSA key", jose.ES256, rs256, nil},
		{"EdDSA with an RSA key", jose.EdDSA, rs256, nil},
		{"EdDSA with a P-256 key", jose.EdDSA, es256, nil},
		{"ES256 with an Ed25519 key", jose.ES256, eddsa, nil},
		{"RS256 with an Ed25519 key", jose.RS256, eddsa, nil},
		{"RS256 with a 1024-bit key", jose.RS256, testKey{jose.RS256, weak}, nil},
		{"ES256 63 bytes", jose.ES256, es256, func(s []byte) []byte { return s[1:] }},
		{"ES256 65 bytes", jose.ES256, es256, func(s []byte) []byte { return append([]byte{0}, s...) }},
		{"ES256 96 bytes", jose.ES256, es256, func(s []byte) []byte { return append(make([]byte, 32), s...) }},
		{"ES256 empty", jose.ES256, es256, func([]byte) []byte { return nil }},
		{"ES256 ASN.1", jose.ES256, es256, func(s []byte) []byte { return derOf(t, s) }},
		{"ES256 r zero", jose.ES256, es256, func(s []byte) []byte { clear(s[:32]); return s }},
		{"ES256 s zero", jose.ES256, es256, func(s []byte) []byte { clear(s[32:]); return s }},
		{"ES256 flipped bit", jose.ES256, es256, func(s []byte) []byte { s[10] ^= 1; return s }},
		{"ES384 64 bytes", jose.ES384, es384, func(s []byte) []byte { return s[16:80] }},
		{"ES384 97 bytes", jose.ES384, es384, func(s []byte) []byte { return append(s, 0) }},
		{"RS256 truncated", jose.RS256, rs256, func(s []byte) []byte { return s[:len(s)-1] }},
		{"EdDSA 63 bytes", jose.EdDSA, eddsa, func(s []byte) []byte { return s[:63] }},
		{"EdDSA flipped bit", jose.EdDSA, eddsa, func(s []byte) []byte { s[0] ^= 1; return s }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body := flat(t, c.key.priv, header(t, c.alg, nil), "{}", c.sig)
			j, err := parseFlat(body)
			if err != nil {
				t.Fatal(err)
			}
			if err := j.verify(c.key.pub()); !errors.Is(err, errBadSignature) {
				t.Fatalf("verify: %v, want %v", err, errBadSignature)
			}
		})
	}
	t.Run("changed payload", func(t *testing.T) {
		body := flat(t, es256.priv, header(t, jose.ES256, nil), `{"a":1}`, nil)
		body = bytes.Replace(body, []byte(base64.RawURLEncoding.EncodeToString([]byte(`{"a":1}`))),
			[]byte(base64.RawURLEncoding.EncodeToString([]byte(`{"a":2}`))), 1)
		j, err := parseFlat(body)
		if err != nil {
			t.Fatal(err)
		}
		if err := j.verify(es256.pub()); !errors.Is(err, errBadSignature) {
			t.Fatalf("verify: %v", err)
		}
	})
	t.Run("unsupported key type", func(t *testing.T) {
		j, err := parseFlat(flat(t, es256.priv, header(t, jose.ES256, nil), "", nil))
		if err != nil {
			t.Fatal(err)
		}
		if err := j.verify([]byte("secret")); !errors.Is(err, errBadSignature) {
			t.Fatalf("verify: %v", err)
		}
	})
}

// derOf turns a P-256 r‖s signature into its ASN.1 form.
func derOf(t *testing.T, s []byte) []byte {
	der, err := asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(s[:32]), new(big.Int).SetBytes(s[32:])})
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// TestECDSADER: ecdsaDER writes what encoding/asn1 writes for r and s of
// any size up to P-384's, with leading zero bytes and high bits set.
func TestECDSADER(t *testing.T) {
	vals := [][]byte{{1}, {0x7f}, {0x80}, {0xff}, {0, 0, 0x80}, {0, 1}, bytes.Repeat([]byte{0xff}, 48), append([]byte{0}, bytes.Repeat([]byte{0x80}, 47)...)}
	for range 300 {
		b := make([]byte, 32+len(vals)%17)
		_, _ = rand.Read(b)
		clear(b[:len(vals)%5]) // leading zeros
		if len(vals)%3 == 0 {
			b[len(vals)%5] |= 0x80
		}
		vals = append(vals, b)
	}
	for i, r := range vals {
		s := vals[(i*7+3)%len(vals)]
		want, err := asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(r), new(big.Int).SetBytes(s)})
		if err != nil {
			t.Fatal(err)
		}
		if got := ecdsaDER(nil, r, s); !bytes.Equal(got, want) {
			t.Fatalf("r=%x s=%x: got %x, want %x", r, s, got, want)
		}
	}
	if ecdsaDER(nil, []byte{0, 0}, []byte{1}) != nil || ecdsaDER(nil, []byte{1}, nil) != nil {
		t.Fatal("a zero r or s must give no encoding")
	}
}

// TestParseJWSHeaderChecks: the handler's checks that come before the
// nonce is consumed (the Handler has no Service: reaching the nonce would
// panic): url present and this request's, exactly one of kid and jwk.
func TestParseJWSHeaderChecks(t *testing.T) {
	k := testKeys()[0]
	jwk, err := json.Marshal(jose.JSONWebKey{Key: k.pub()})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, hdr, url string
		typ            acme.ProblemType
		msg            string
	}{
		{"no url", `{"alg":"ES256","nonce":"n","kid":"k"}`, testURL, acme.Malformed, "has no url"},
		{"empty url", `{"alg":"ES256","nonce":"n","url":"","kid":"k"}`, testURL, acme.Malformed, "has no url"},
		{"other url", `{"alg":"ES256","nonce":"n","url":"` + testURL + `","kid":"k"}`, "https://ca.example/acme/acme/new-account", acme.Unauthorized, "is not the request's URL"},
		{"other host", `{"alg":"ES256","nonce":"n","url":"` + testURL + `","kid":"k"}`, "https://evil.example/acme/acme/new-order", acme.Unauthorized, "is not the request's URL"},
		{"kid and jwk", `{"alg":"ES256","nonce":"n","url":"` + testURL + `","kid":"k","jwk":` + string(jwk) + `}`, testURL, acme.Malformed, "exactly one of jwk and kid"},
		{"neither kid nor jwk", `{"alg":"ES256","nonce":"n","url":"` + testURL + `"}`, testURL, acme.Malformed, "exactly one of jwk and kid"},
		{"empty kid", `{"alg":"ES256","nonce":"n","url":"` + testURL + `","kid":""}`, testURL, acme.Malformed, "exactly one of jwk and kid"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			q := &request{r: httptest.NewRequest("POST", c.url, nil)}
			_, err := (&Handler{}).parseJWS(q, flat(t, k.priv, c.hdr, "", nil))
			p := acme.ProblemOf(err)
			if err == nil || p.Type != c.typ || !strings.Contains(p.Detail, c.msg) {
				t.Fatalf("got %v, want %s with %q", err, c.typ, c.msg)
			}
		})
	}
}

// TestAgreesWithGoJOSE: headers at the edges of what we accept (escapes,
// unicode, nested unknown members, whitespace, an empty kid beside a jwk)
// read the same in go-jose; and go-jose refuses the duplicate and
// case-variant members we refuse, so the differential oracle can fail.
func TestAgreesWithGoJOSE(t *testing.T) {
	k := testKeys()[0]
	jwk, err := json.Marshal(jose.JSONWebKey{Key: k.pub()})
	if err != nil {
		t.Fatal(err)
	}
	for _, hdr := range []string{
		`{"alg":"ES256","url":"https:\/\/a","kid":"\u006b","nonce":"\ud83d\ude00"}`,
		`{"alg":"ES\u0032\u0035\u0036","url":"u","kid":"k\"\\","nonce":"é"}`,
		` { "alg" : "ES256" , "url" : "u" , "kid" : "k" , "x" : { "y" : [ 1 , "\"}" , null , true ] } } `,
		`{"alg":"ES256","url":"u","kid":"","jwk":` + string(jwk) + `}`,
		`{"alg":"ES256","url":"u","kid":"k","nonce":"bad utf-8 ` + "\xff" + `"}`,
	} {
		body := flat(t, k.priv, hdr, `{"a":1}`, nil)
		j, err := parseFlat(body)
		if err != nil {
			t.Fatalf("%s: %v", hdr, err)
		}
		key := k.pub()
		if j.jwk != nil {
			key = j.jwk.Key
		}
		if err := j.verify(key); err != nil {
			t.Fatalf("%s: %v", hdr, err)
		}
		agree(t, body, j, key)
	}
	for _, hdr := range []string{
		`{"alg":"ES256","url":"u","kid":"k","x":1,"x":2}`,
		`{"alg":"ES256","url":"u","kid":"k","kid":"j"}`,
		`{"ALG":"ES256","url":"u","kid":"k"}`,
		`{"alg":"ES256","url":"u","kid":"k","` + "\xff" + `":1,"` + "\xfe" + `":2}`,
	} {
		body := flat(t, k.priv, hdr, "", nil)
		if _, err := parseFlat(body); err == nil {
			t.Fatalf("%s: accepted", hdr)
		}
		if _, err := jose.ParseSigned(string(body), Algorithms); err == nil {
			t.Fatalf("%s: go-jose accepts it; the differential fuzz targets could not catch us accepting it", hdr)
		}
	}
}
