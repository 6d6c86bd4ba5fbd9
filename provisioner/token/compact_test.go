package token

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	mjose "github.com/mayfly-pki/mayfly/internal/jose"
)

// checkAgainstGoJOSE parses raw twice (the first parse caches a header the
// direct check can use) and checks that the token, and its verification
// with each key, are what go-jose alone gives.
func checkAgainstGoJOSE(t *testing.T, raw string, keys ...any) *Token {
	t.Helper()
	_, _ = Parse(raw)
	tok, err := Parse(raw)
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
		tok, err := Parse(raw)
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
		t.Run(name, func(t *testing.T) { checkAgainstGoJOSE(t, raw, append(keys, k384.Public(), j384.Public())...) })
	}

	// The common token takes the direct path after the first parse.
	tok := checkAgainstGoJOSE(t, es256, keys...)
	if tok == nil || tok.fast == nil {
		t.Fatal("a compact ES256 token with a plain header is not checked directly")
	}
	if err := tok.Verify(&pubJWK); err != nil {
		t.Fatal(err)
	}
	if tok.fast == nil {
		t.Fatal("verification with the provisioner's key fell back to go-jose")
	}
	// A header with other members is never cached.
	tok = checkAgainstGoJOSE(t, sign(key, map[string]any{"sans": []string{"a"}}), keys...)
	if tok.fast != nil {
		t.Fatal("a header with extra members took the direct path")
	}
}

// flipLow changes the unused low bits of a final base64url character, so that
// the lenient decoder still accepts it and the strict one does not.
func flipLow(c byte) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	i := strings.IndexByte(alphabet, c)
	return string(alphabet[i^1])
}

// TestHeaderCacheBounded is not parallel: it fills the cache, then empties it
// before the parallel tests run.
func TestHeaderCacheBounded(t *testing.T) {
	defer func() {
		headerCache.Clear()
		cachedHeaders.Store(0)
	}()
	key := newKey(t)
	for i := 0; i < maxCachedHeaders+10; i++ {
		raw, err := Sign(key, &Claims{Subject: "x"}, map[string]any{"kid": strings.Repeat("k", i%400) + string(rune('a'+i%26))})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Parse(raw); err != nil {
			t.Fatal(err)
		}
	}
	if n := cachedHeaders.Load(); n > maxCachedHeaders {
		t.Fatalf("%d headers cached, bound %d", n, maxCachedHeaders)
	}
}
