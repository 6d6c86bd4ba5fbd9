package token

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	mjose "github.com/mayfly-pki/mayfly/internal/jose"
)

// checkAgainstGoJOSE parses raw with h (the headers of the keys the direct
// check may use) and checks that the token, and its verification with each
// key, are what go-jose alone gives.
func checkAgainstGoJOSE(t *testing.T, h *Headers, raw string, keys ...any) *Token {
	t.Helper()
	tok, err := h.Parse(raw)
	ref, _, refErr := parseJOSE(raw)
	if refErr != nil {
		if err == nil {
			t.Fatalf("Parse accepted a token go-jose rejects (%v)", refErr)
		}
		return nil
	}
	var refClaims Claims
	if cerr := json.Unmarshal(ref.UnsafePayloadWithoutVerification(), &refClaims); cerr != nil {
		if err == nil {
			t.Fatalf("Parse accepted claims json.Unmarshal rejects (%v)", cerr)
		}
		return nil
	}
	if err != nil {
		t.Fatalf("Parse: %v; go-jose accepts the token", err)
	}
	if !reflect.DeepEqual(tok.Claims, refClaims) {
		t.Fatalf("claims differ:\n got %+v\nwant %+v", tok.Claims, refClaims)
	}
	if !reflect.DeepEqual(tok.Header, ref.Signatures[0].Header) {
		t.Fatalf("headers differ:\n got %+v\nwant %+v", tok.Header, ref.Signatures[0].Header)
	}
	for i, k := range keys {
		_, refErr := ref.Verify(k)
		// A fresh parse per key: a fallback to go-jose is sticky.
		tok, err := h.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		fast := tok.fast != nil
		if err := tok.Verify(k); (err == nil) != (refErr == nil) {
			t.Fatalf("key %d (%T, direct check %v): Verify = %v, go-jose = %v", i, k, fast, err, refErr)
		}
	}
	return tok
}

func TestCompactMatchesGoJOSE(t *testing.T) {
	t.Parallel()
	key, other := newKey(t), newKey(t)
	ecPub := key.Public().Key.(*ecdsa.PublicKey)
	k384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	j384, err := mjose.NewSigningJWK(k384)
	if err != nil {
		t.Fatal(err)
	}
	_, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	jed, err := mjose.NewSigningJWK(edPriv)
	if err != nil {
		t.Fatal(err)
	}
	edPub := edPriv.Public().(ed25519.PublicKey)
	pubJWK := key.Public()
	keys := []any{&pubJWK, pubJWK, ecPub, other.Public(), k384.Public(), edPub, []byte("hmac"), nil}
	h := NewHeaders([]*jose.JSONWebKey{&pubJWK, j384, jed})

	claims := &Claims{Subject: "x", ID: "j", Audience: Audience{"https://ca/1.0/sign"}, Expiry: NewNumericDate(time.Now())}
	sign := func(k *jose.JSONWebKey, h map[string]any) string {
		raw, err := Sign(k, claims, h)
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	es256, es384, eddsa := sign(key, nil), sign(j384, nil), sign(jed, nil)
	parts := strings.Split(es256, ".")

	for name, raw := range map[string]string{
		"ES256":                     es256,
		"ES384":                     es384,
		"EdDSA":                     eddsa,
		"tampered payload":          parts[0] + "." + b64(`{"sub":"admin"}`) + "." + parts[2],
		"tampered signature":        parts[0] + "." + parts[1] + "." + b64(strings.Repeat("A", 64)),
		"short signature":           parts[0] + "." + parts[1] + "." + b64("AAAA"),
		"whitespace (go-jose only)": parts[0] + ".\n" + parts[1] + "." + parts[2],
		"extra header member":       sign(key, map[string]any{"sans": []string{"a"}}),
		"non-canonical signature":   parts[0] + "." + parts[1] + "." + parts[2][:len(parts[2])-1] + flipLow(parts[2][len(parts[2])-1]),
		"four parts":                es256 + ".x",
		"ES256 header, P-384 sig":   parts[0] + "." + strings.SplitN(es384, ".", 3)[1] + "." + strings.SplitN(es384, ".", 3)[2],
	} {
		t.Run(name, func(t *testing.T) { checkAgainstGoJOSE(t, h, raw, append(keys, k384.Public(), j384.Public())...) })
	}

	// The common token takes the direct path.
	tok := checkAgainstGoJOSE(t, h, es256, keys...)
	if tok == nil || tok.fast == nil {
		t.Fatal("a compact ES256 token with a plain header is not checked directly")
	}
	if err := tok.Verify(&pubJWK); err != nil {
		t.Fatal(err)
	}
	if tok.fast == nil {
		t.Fatal("verification with the provisioner's key fell back to go-jose")
	}
	for _, raw := range []string{es384, eddsa} {
		if tok := checkAgainstGoJOSE(t, h, raw, keys...); tok == nil || tok.fast == nil {
			t.Fatalf("%s: not checked directly", headerOf(t, raw)["alg"])
		}
	}
	// A header with other members is never known.
	tok = checkAgainstGoJOSE(t, h, sign(key, map[string]any{"sans": []string{"a"}}), keys...)
	if tok.fast != nil {
		t.Fatal("a header with extra members took the direct path")
	}
	// Nor is anything without Headers.
	if tok, err := Parse(es256); err != nil || tok.fast != nil {
		t.Fatalf("Parse without headers: %v, direct %v", err, tok != nil && tok.fast != nil)
	}
}

// flipLow changes the unused low bits of a final base64url character, so that
// the lenient decoder still accepts it and the strict one does not.
func flipLow(c byte) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	i := strings.IndexByte(alphabet, c)
	return string(alphabet[i^1])
}

// The headers are computed from configured keys only: unsigned tokens with
// any number of distinct kids change nothing, and a valid token still takes
// the direct path (issue 14, item 4).
func TestHeadersIgnoreStrangers(t *testing.T) {
	t.Parallel()
	key := newKey(t)
	pub := key.Public()
	h := NewHeaders([]*jose.JSONWebKey{&pub})
	before := len(h.known)
	for i := 0; i < 1000; i++ {
		raw := b64(`{"alg":"ES256","kid":"stranger-`+strconv.Itoa(i)+`","typ":"JWT"}`) + "." + b64(`{"sub":"x"}`) + "." + b64("sig")
		if _, err := h.Parse(raw); err != nil {
			t.Fatal(err)
		}
	}
	if len(h.known) != before {
		t.Fatalf("parsing unsigned tokens changed the known headers: %d → %d", before, len(h.known))
	}
	raw, err := Sign(key, &Claims{Subject: "x"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := h.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if !tok.Direct() {
		t.Fatal("a valid token does not take the direct path after 1000 unsigned strangers")
	}
	if err := tok.Verify(&pub); err != nil || !tok.Direct() {
		t.Fatalf("Verify = %v, direct %v", err, tok.Direct())
	}
}

// The headers NewHeaders computes are byte for byte the ones go-jose (and so
// step) writes, with and without typ.
func TestHeadersMatchMintedTokens(t *testing.T) {
	t.Parallel()
	for _, kid := range []string{"", "nOm3ZEp5Zp-7Zkz0vlmzLqTBdXmF2_kcl1IUu5qQxc0", `a"b\c<d>&e/` + "\u2028é"} {
		key := newKey(t)
		key.KeyID = kid
		pub := key.Public()
		h := NewHeaders([]*jose.JSONWebKey{&pub})
		for _, typ := range []bool{true, false} {
			opts := (&jose.SignerOptions{})
			if typ {
				opts = opts.WithType("JWT")
			}
			if kid != "" {
				opts = opts.WithHeader("kid", kid)
			}
			signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key.Key}, opts)
			if err != nil {
				t.Fatal(err)
			}
			jws, err := signer.Sign([]byte(`{"sub":"x"}`))
			if err != nil {
				t.Fatal(err)
			}
			raw, err := jws.CompactSerialize()
			if err != nil {
				t.Fatal(err)
			}
			tok := checkAgainstGoJOSE(t, h, raw, &pub)
			if tok == nil || !tok.Direct() {
				t.Errorf("kid %q, typ %v: header %s is not a known one", kid, typ, strings.Split(raw, ".")[0])
			}
		}
	}
	// Keys the direct check leaves to go-jose add no header.
	if h := NewHeaders([]*jose.JSONWebKey{{Key: []byte("hmac"), KeyID: "k"}, nil}); len(h.known) != 0 {
		t.Fatalf("%d headers for an HMAC key", len(h.known))
	}
}

// TestDirectFromJOSE checks the direct signature check of tokens go-jose
// parsed (headers no configured key signs: x5c, x5cInsecure): it is used
// for plain compact tokens and gives go-jose's answer, including for
// headers that change what go-jose verifies (crit, b64, even spelled with
// JSON escapes) and non-canonical encodings.
func TestDirectFromJOSE(t *testing.T) {
	t.Parallel()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	// sign signs header and payload JSON as given, in the compact form.
	sign := func(header, payload string) string {
		in := b64(header) + "." + b64(payload)
		sum := sha256.Sum256([]byte(in))
		r, s, err := ecdsa.Sign(rand.Reader, k, sum[:])
		if err != nil {
			t.Fatal(err)
		}
		sig := make([]byte, 64)
		r.FillBytes(sig[:32])
		s.FillBytes(sig[32:])
		return in + "." + b64(string(sig))
	}
	payload := `{"sub":"a","exp":1795370526}`
	plain := sign(`{"alg":"ES256","kid":"k","typ":"JWT","x5cInsecure":["AAAA"]}`, payload)
	tok, err := Parse(plain)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := tok.directFromJOSE(); !ok {
		t.Fatal("a plain token is not checked directly")
	}
	for name, raw := range map[string]string{
		"plain":              plain,
		"crit":               sign(`{"alg":"ES256","crit":["exp"],"exp":1}`, payload),
		"escaped crit":       sign(`{"alg":"ES256","\u0063rit":["exp"],"exp":1}`, payload),
		"b64 false":          sign(`{"alg":"ES256","b64":false,"crit":["b64"]}`, payload),
		"escaped b64":        sign(`{"alg":"ES256","\u0062\u0036\u0034":false,"crit":["b64"]}`, payload),
		"ES384 header":       sign(`{"alg":"ES384"}`, payload),
		"white space":        strings.Replace(plain, ".", ".\n", 1),
		"non-canonical sig":  plain[:len(plain)-1] + flipLow(plain[len(plain)-1]),
		"x5cInsecure plenty": sign(`{"alg":"ES256","x5cInsecure":["AAAA","BBBB"],"kid":"x"}`, payload),
	} {
		t.Run(name, func(t *testing.T) {
			checkAgainstGoJOSE(t, nil, raw, &k.PublicKey, &other.PublicKey, jose.JSONWebKey{Key: &k.PublicKey})
		})
	}
}

// TestLearnedHeaders checks Headers.Learn: the header of a verified token
// no configured key signs is parsed and checked directly afterwards, with
// go-jose's answers (another key, a changed payload, a non-canonical
// signature are refused), and the set is bounded.
func TestLearnedHeaders(t *testing.T) {
	t.Parallel()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	key, err := mjose.NewSigningJWK(k)
	if err != nil {
		t.Fatal(err)
	}
	key.KeyID = "certs/client.key"
	h := NewHeaders(nil)
	mint := func(sub string, hdr map[string]any) string {
		raw, err := Sign(key, &Claims{Subject: sub, Expiry: NewNumericDate(time.Unix(1795370526, 0))}, hdr)
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	hdr := map[string]any{"x5cInsecure": []string{"AAAA", "BBBB"}}
	first, err := h.Parse(mint("a", hdr))
	if err != nil || first.Direct() {
		t.Fatalf("first token: direct %v, %v", first != nil && first.Direct(), err)
	}
	if err := first.Verify(&k.PublicKey); err != nil {
		t.Fatal(err)
	}
	h.Learn(first)
	raw := mint("b", hdr)
	tok := checkAgainstGoJOSE(t, h, raw, &k.PublicKey, &other.PublicKey)
	if !tok.Direct() || tok.HeaderStrings("x5cInsecure")[1] != "BBBB" || tok.Claims.Subject != "b" {
		t.Fatalf("learned header: direct %v, header %v, claims %+v", tok.Direct(), tok.Header, tok.Claims)
	}
	parts := strings.Split(raw, ".")
	changed := parts[0] + "." + b64(`{"sub":"c","exp":1795370526}`) + "." + parts[2]
	checkAgainstGoJOSE(t, h, changed, &k.PublicKey)
	if tok, _ := h.Parse(changed); tok == nil || tok.Verify(&k.PublicKey) == nil {
		t.Fatal("a changed payload verified under a learned header")
	}
	checkAgainstGoJOSE(t, h, raw[:len(raw)-1]+flipLow(raw[len(raw)-1]), &k.PublicKey)

	// A header go-jose must judge (crit) is not learned.
	crit, err := Parse(mint("d", map[string]any{"crit": []string{"exp"}, "exp": 1}))
	if err == nil {
		h.Learn(crit)
		if again, _ := h.Parse(crit.Raw); again != nil && again.Direct() {
			t.Fatal("a crit header was learned")
		}
	}

	// Bounded.
	for i := range MaxLearnedHeaders + 10 {
		tok, err := Parse(mint("e", map[string]any{"x5cInsecure": []string{strconv.Itoa(i)}}))
		if err != nil {
			t.Fatal(err)
		}
		h.Learn(tok)
	}
	if n := len(h.learned.m); n != MaxLearnedHeaders {
		t.Fatalf("%d learned headers, want at most %d", n, MaxLearnedHeaders)
	}
}
