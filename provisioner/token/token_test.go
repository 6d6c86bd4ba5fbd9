package token

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"math/big"
	"strconv"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	mjose "github.com/mayfly-pki/mayfly/internal/jose"
)

func newKey(t *testing.T) *jose.JSONWebKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jwk, err := mjose.NewSigningJWK(k)
	if err != nil {
		t.Fatal(err)
	}
	return jwk
}

// b64 is the base64url (no padding) of s, for hand-made tokens.
func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// payloadOf returns the decoded payload JSON of a compact token.
func payloadOf(t *testing.T, raw string) map[string]json.RawMessage {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func headerOf(t *testing.T, raw string) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(raw, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestSignParseVerifyRoundTrip(t *testing.T) {
	t.Parallel()
	key := newKey(t)
	now := time.Unix(1795370226, 0)
	id, err := NewID()
	if err != nil {
		t.Fatal(err)
	}
	in := &Claims{
		Audience: Audience{"https://ca.example.com/1.0/sign"}, Issuer: "admin", Subject: "test.example.com",
		ID: id, IssuedAt: NewNumericDate(now), NotBefore: NewNumericDate(now),
		Expiry: NewNumericDate(now.Add(DefaultValidity)), SANs: []string{"test.example.com", "10.0.0.1"},
		SHA: "abc", User: map[string]any{}, Cnf: &Confirmation{X5rtS256: "fp"},
	}
	raw, err := Sign(key, in, map[string]any{"extra": "v"})
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	tok, err := Parse(raw)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if tok.Raw != raw {
		t.Fatalf("Raw = %q, want the input", tok.Raw)
	}
	if err := tok.Verify(key.Public()); err != nil {
		t.Fatalf("Verify(public JWK): %v", err)
	}
	pub := key.Public()
	if err := tok.Verify(&pub); err != nil {
		t.Fatalf("Verify(*JWK): %v", err)
	}
	if err := tok.Verify(key.Key.(*ecdsa.PrivateKey).Public()); err != nil {
		t.Fatalf("Verify(crypto public key): %v", err)
	}
	got, _ := json.Marshal(tok.Claims)
	want, _ := json.Marshal(in)
	if string(got) != string(want) {
		t.Fatalf("claims round trip:\n got %s\nwant %s", got, want)
	}
	if tok.Header.KeyID != key.KeyID || tok.Header.Algorithm != "ES256" {
		t.Fatalf("header kid=%q alg=%q, want kid=%q alg=ES256", tok.Header.KeyID, tok.Header.Algorithm, key.KeyID)
	}
	if tok.HeaderString("extra") != "v" {
		t.Fatalf("HeaderString(extra) = %q", tok.HeaderString("extra"))
	}
	h := headerOf(t, raw)
	if h["typ"] != "JWT" || h["kid"] != key.KeyID || h["alg"] != "ES256" {
		t.Fatalf("header = %v, want typ JWT, kid and alg ES256", h)
	}
}

func TestSignHeaders(t *testing.T) {
	t.Parallel()
	key := newKey(t)
	c := &Claims{Subject: "s", Expiry: NewNumericDate(time.Unix(10, 0))}
	raw, err := Sign(key, c, map[string]any{"kid": "certs/svc.key", "x5cInsecure": []string{"AA==", "BB=="}})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if tok.Header.KeyID != "certs/svc.key" {
		t.Fatalf("kid = %q, want the header override", tok.Header.KeyID)
	}
	if got := tok.HeaderStrings("x5cInsecure"); len(got) != 2 || got[0] != "AA==" || got[1] != "BB==" {
		t.Fatalf("HeaderStrings = %q", got)
	}
	if got := tok.HeaderStrings("missing"); len(got) != 0 {
		t.Fatalf("HeaderStrings(missing) = %q", got)
	}
	if got := tok.HeaderString("x5cInsecure"); got != "" {
		t.Fatalf("HeaderString of an array = %q, want empty", got)
	}

	noAlg := *key
	noAlg.Algorithm = ""
	if _, err := Sign(&noAlg, c, nil); err == nil {
		t.Fatal("Sign with a key without alg succeeded")
	}
}

func TestSignEd25519(t *testing.T) {
	t.Parallel()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	key, err := mjose.NewSigningJWK(priv)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := Sign(key, &Claims{Subject: "x"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if tok.Header.Algorithm != string(jose.EdDSA) {
		t.Fatalf("alg = %s", tok.Header.Algorithm)
	}
	if err := tok.Verify(key.Public()); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyWrongKey(t *testing.T) {
	t.Parallel()
	key, other := newKey(t), newKey(t)
	raw, err := Sign(key, &Claims{Subject: "x"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := tok.Verify(other.Public()); err == nil {
		t.Fatal("Verify with another key succeeded")
	}
	// A tampered payload keeps parsing but no longer verifies.
	parts := strings.Split(raw, ".")
	forged := parts[0] + "." + b64(`{"sub":"admin"}`) + "." + parts[2]
	ftok, err := Parse(forged)
	if err != nil {
		t.Fatalf("Parse(forged): %v", err)
	}
	if ftok.Claims.Subject != "admin" {
		t.Fatalf("unverified claims sub = %q", ftok.Claims.Subject)
	}
	if err := ftok.Verify(key.Public()); err == nil {
		t.Fatal("Verify of a tampered token succeeded")
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	key := newKey(t)
	good, err := Sign(key, &Claims{Subject: "x"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, ".")
	hdr := b64(`{"alg":"ES256","typ":"JWT"}`)
	withPayload := func(p string) string { return hdr + "." + b64(p) + "." + parts[2] }
	tests := []struct {
		name, raw string
	}{
		{"empty", ""},
		{"garbage", "garbage"},
		{"two parts", parts[0] + "." + parts[1]},
		{"four parts", good + ".x"},
		{"bad base64 header", "!!!." + parts[1] + "." + parts[2]},
		{"alg none", b64(`{"alg":"none"}`) + "." + parts[1] + "."},
		{"payload not JSON", withPayload("not json")},
		{"payload array", withPayload(`[1,2]`)},
		{"aud number", withPayload(`{"aud":1}`)},
		{"aud array of numbers", withPayload(`{"aud":[1]}`)},
		{"exp string", withPayload(`{"exp":"tomorrow"}`)},
		{"iat bool", withPayload(`{"iat":true}`)},
		{"sans not array", withPayload(`{"sans":"a"}`)},
		{"oversized", strings.Repeat("a", MaxSize+1)},
		{"oversized valid prefix", good + strings.Repeat("A", MaxSize)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if tok, err := Parse(tc.raw); err == nil {
				t.Fatalf("Parse succeeded: %+v", tok.Claims)
			}
		})
	}
}

func TestParseMaxSize(t *testing.T) {
	t.Parallel()
	// Parse does not verify, so a hand-made token of an exact length will do.
	hdr := b64(`{"alg":"ES256","typ":"JWT"}`)
	ofLen := func(n int) string {
		t.Helper()
		for pad := (n-len(hdr))*3/4 + 4; pad > 0; pad-- {
			for sig := 1; sig < 8; sig++ {
				raw := hdr + "." + b64(`{"sub":"x","pad":"`+strings.Repeat("p", pad)+`"}`) + "." + b64(strings.Repeat("s", sig))
				if len(raw) == n {
					return raw
				}
			}
		}
		t.Fatalf("cannot build a token of %d bytes", n)
		return ""
	}
	if tok, err := Parse(ofLen(MaxSize)); err != nil || tok.Claims.Subject != "x" {
		t.Fatalf("Parse(MaxSize bytes) = %v", err)
	}
	if _, err := Parse(ofLen(MaxSize + 1)); err == nil || !strings.Contains(err.Error(), "too large") {
		t.Fatalf("Parse(MaxSize+1 bytes) = %v, want a too large error", err)
	}
}

func TestAudienceJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want Audience
		err  bool
	}{
		{"string", `"https://ca/1.0/sign"`, Audience{"https://ca/1.0/sign"}, false},
		{"array of one", `["a"]`, Audience{"a"}, false},
		{"array", `["a","b"]`, Audience{"a", "b"}, false},
		{"empty array", `[]`, Audience{}, false},
		{"escaped string", `"a\u0062\"c\\"`, Audience{`ab"c\`}, false},
		{"empty string", `""`, Audience{""}, false},
		{"number", `1`, nil, true},
		{"object", `{"a":1}`, nil, true},
		{"mixed array", `["a",1]`, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var a Audience
			err := json.Unmarshal([]byte(tc.in), &a)
			if (err != nil) != tc.err {
				t.Fatalf("Unmarshal(%s) error = %v, want error %v", tc.in, err, tc.err)
			}
			if !tc.err && strings.Join(a, "|") != strings.Join(tc.want, "|") {
				t.Fatalf("Unmarshal(%s) = %q, want %q", tc.in, a, tc.want)
			}
		})
	}

	// Through Parse: both forms of a real token payload.
	for in, want := range map[string]string{`"https://ca/1.0/sign"`: "https://ca/1.0/sign", `["a","b"]`: "a|b", `[]`: ""} {
		raw := b64(`{"alg":"ES256","typ":"JWT"}`) + "." + b64(`{"aud":`+in+`,"sub":"s"}`) + "." + b64("sig")
		tok, err := Parse(raw)
		if err != nil {
			t.Fatalf("Parse(aud %s): %v", in, err)
		}
		if got := strings.Join(tok.Claims.Audience, "|"); got != want {
			t.Fatalf("Parse(aud %s) audience = %q, want %q", in, got, want)
		}
	}

	marshal := []struct {
		in   Audience
		want string
	}{
		{Audience{"https://ca/1.0/sign"}, `"https://ca/1.0/sign"`},
		{Audience{"a", "b"}, `["a","b"]`},
	}
	for _, tc := range marshal {
		b, err := json.Marshal(tc.in)
		if err != nil || string(b) != tc.want {
			t.Fatalf("Marshal(%q) = %s, %v; want %s", tc.in, b, err, tc.want)
		}
	}
	// In a token the single audience is a JSON string (wire-spec §4, §10.3).
	key := newKey(t)
	raw, err := Sign(key, &Claims{Audience: Audience{"https://ca/1.0/sign"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(payloadOf(t, raw)["aud"]); got != `"https://ca/1.0/sign"` {
		t.Fatalf("aud in token = %s, want a JSON string", got)
	}
	// No audience: the claim is omitted.
	raw, err = Sign(key, &Claims{Subject: "s"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := payloadOf(t, raw)["aud"]; ok {
		t.Fatal("empty audience was serialized")
	}
}

func TestNumericDate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want int64
		err  bool
	}{
		{`1795370226`, 1795370226, false},
		{`1795370226.9`, 1795370226, false},
		{`0`, 0, false},
		{`-5`, -5, false},
		{`1.5e3`, 1500, false},
		{`-0`, 0, false},
		{`null`, 0, false},
		{`1e400`, 0, true},
		{`"1795370226"`, 0, true},
		{`true`, 0, true},
		{`[1]`, 0, true},
		{`{}`, 0, true},
	}
	for _, tc := range tests {
		var n NumericDate
		err := json.Unmarshal([]byte(tc.in), &n)
		if (err != nil) != tc.err {
			t.Fatalf("Unmarshal(%s) error = %v, want error %v", tc.in, err, tc.err)
		}
		if !tc.err && int64(n) != tc.want {
			t.Fatalf("Unmarshal(%s) = %d, want %d", tc.in, n, tc.want)
		}
	}
	var c Claims
	if err := json.Unmarshal([]byte(`{"exp":null}`), &c); err != nil || c.Expiry != nil {
		t.Fatalf("exp null: %v, %v; want nil expiry", err, c.Expiry)
	}
	var nilDate *NumericDate
	if !nilDate.Time().IsZero() {
		t.Fatal("nil NumericDate is not the zero time")
	}
	if got := NewNumericDate(time.Unix(42, 999)).Time(); !got.Equal(time.Unix(42, 0)) {
		t.Fatalf("NewNumericDate kept sub-seconds: %v", got)
	}
}

func TestValidateTime(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0)
	at := func(d time.Duration) *NumericDate { return NewNumericDate(now.Add(d)) }
	tests := []struct {
		name string
		c    Claims
		want string // "" = valid, else an error substring
	}{
		{"valid", Claims{IssuedAt: at(0), NotBefore: at(0), Expiry: at(5 * time.Minute)}, ""},
		{"no exp", Claims{IssuedAt: at(0), NotBefore: at(0)}, "no expiration"},
		{"exp now", Claims{Expiry: at(0)}, ""},
		{"expired within leeway", Claims{Expiry: at(-time.Minute)}, ""},
		{"expired beyond leeway", Claims{Expiry: at(-time.Minute - time.Second)}, "expired"},
		{"nbf within leeway", Claims{Expiry: at(time.Hour), NotBefore: at(time.Minute)}, ""},
		{"nbf beyond leeway", Claims{Expiry: at(time.Hour), NotBefore: at(time.Minute + time.Second)}, "not valid yet"},
		{"iat within leeway", Claims{Expiry: at(time.Hour), IssuedAt: at(time.Minute)}, ""},
		{"iat in the future", Claims{Expiry: at(time.Hour), IssuedAt: at(time.Minute + time.Second)}, "issued in the future"},
		{"old iat is fine", Claims{Expiry: at(time.Hour), IssuedAt: at(-24 * time.Hour)}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.c.ValidateTime(now)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("ValidateTime: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("ValidateTime = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestReuseKey(t *testing.T) {
	t.Parallel()
	key, other := newKey(t), newKey(t)
	sign := func(k *jose.JSONWebKey, c *Claims, h map[string]any) string {
		t.Helper()
		raw, err := Sign(k, c, h)
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	reuseKey := func(raw string) string {
		t.Helper()
		tok, err := Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		k := tok.ReuseKey()
		if len(k) != 68 {
			t.Fatalf("reuse key %q is %d bytes, want 68", k, len(k))
		}
		return k
	}
	parts := func(raw string) []string { return strings.Split(raw, ".") }

	// With a jti: the issuer and the jti, nothing else.
	a := reuseKey(sign(key, &Claims{ID: "abc123", Issuer: "admin", Subject: "s"}, nil))
	if !strings.HasPrefix(a, "jti:") {
		t.Fatalf("reuse key with jti = %q", a)
	}
	if b := reuseKey(sign(other, &Claims{ID: "abc123", Issuer: "admin", Subject: "other"}, map[string]any{"kid": "x"})); b != a {
		t.Fatal("one issuer's jti gives two reuse keys")
	}
	if b := reuseKey(sign(key, &Claims{ID: "abc123", Issuer: "dev", Subject: "s"}, nil)); b == a {
		t.Fatal("two issuers' equal jtis give one reuse key")
	}
	if b := reuseKey(sign(key, &Claims{ID: "123", Issuer: "adminabc", Subject: "s"}, nil)); b == a {
		t.Fatal("issuer and jti are not kept apart")
	}
	reuseKey(sign(key, &Claims{ID: strings.Repeat("j", 10000), Issuer: "admin"}, nil)) // length checked there

	// Without: what was signed, however it is encoded.
	noJTI := sign(key, &Claims{Issuer: "admin", Subject: "s"}, nil)
	k := reuseKey(noJTI)
	if !strings.HasPrefix(k, "jws:") {
		t.Fatalf("reuse key without jti = %q", k)
	}
	p := parts(noJTI)
	sig, _ := base64.RawURLEncoding.DecodeString(p[2])
	s := new(big.Int).SetBytes(sig[32:])
	s.Sub(elliptic.P256().Params().N, s)
	malleated := p[0] + "." + p[1] + "." + base64.RawURLEncoding.EncodeToString(append(sig[:32:32], s.FillBytes(make([]byte, 32))...))
	last := p[2][len(p[2])-1:]
	for name, raw := range map[string]string{
		"(r, n-s)":             malleated,
		"non-canonical base64": p[0] + "." + p[1] + "." + p[2][:len(p[2])-1] + flipLow(last[0]),
		"line feeds":           p[0] + ".\n" + p[1] + "\r\n." + p[2],
		"white space":          " " + p[0] + ".\t" + p[1] + " ." + p[2] + "\u00a0",
		"signed again":         sign(key, &Claims{Issuer: "admin", Subject: "s"}, nil),
	} {
		if raw == noJTI {
			t.Fatalf("%s: same token", name)
		}
		if got := reuseKey(raw); got != k {
			t.Fatalf("%s: reuse key %q, want %q", name, got, k)
		}
	}
	for name, raw := range map[string]string{
		"other payload": sign(key, &Claims{Issuer: "admin", Subject: "t"}, nil),
		"other header":  sign(key, &Claims{Issuer: "admin", Subject: "s"}, map[string]any{"kid": "other"}),
		"other key":     sign(other, &Claims{Issuer: "admin", Subject: "s"}, nil),
	} {
		if got := reuseKey(raw); got == k {
			t.Fatalf("%s: same reuse key as another token", name)
		}
	}
}

// Tokens in a JWS JSON serialization are refused: only the compact one is
// accepted (one signed token, one encoding; issue 14, item 3).
func TestParseRefusesJSONSerialization(t *testing.T) {
	t.Parallel()
	key := newKey(t)
	raw, err := Sign(key, &Claims{Subject: "x"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := jose.ParseSigned(raw, SignatureAlgorithms)
	if err != nil {
		t.Fatal(err)
	}
	pub := key.Public()
	for name, h := range map[string]*Headers{"go-jose": nil, "direct": NewHeaders([]*jose.JSONWebKey{&pub})} {
		for _, s := range []string{jws.FullSerialize(), " \n" + jws.FullSerialize()} {
			if _, err := h.Parse(s); err == nil || !strings.Contains(err.Error(), "compact serialization") {
				t.Fatalf("%s: Parse(JSON serialization) = %v, want a compact serialization error", name, err)
			}
		}
	}
}

func TestNewID(t *testing.T) {
	t.Parallel()
	a, err := NewID()
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewID()
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != 64 || a == b {
		t.Fatalf("NewID = %q, %q; want two different 64-character IDs", a, b)
	}
	if _, err := hex.DecodeString(a); err != nil {
		t.Fatalf("NewID is not hex: %v", err)
	}
}

func TestSplitAudience(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, url, frag string }{
		{"https://ca:9443/1.0/sign#x5c/name", "https://ca:9443/1.0/sign", "x5c/name"},
		{"https://ca/1.0/sign", "https://ca/1.0/sign", ""},
		{"step-certificate-authority#sshpop/p", "step-certificate-authority", "sshpop/p"},
		{"a#b#c", "a", "b#c"},
		{"#", "", ""},
	}
	for _, tc := range tests {
		u, f := SplitAudience(tc.in)
		if u != tc.url || f != tc.frag {
			t.Fatalf("SplitAudience(%q) = %q, %q; want %q, %q", tc.in, u, f, tc.url, tc.frag)
		}
	}
}

func BenchmarkReuseKey(b *testing.B) {
	key := newKey(&testing.T{})
	for _, jti := range []string{"f0254d5d7c2f3a4b5e6d7c8b9a0f1e2d3c4b5a69788796a5b4c3d2e1f0a1b2c3", ""} {
		raw, err := Sign(key, &Claims{Issuer: "admin", ID: jti, Subject: "bench.example.com", Audience: Audience{"https://ca.example.com/1.0/sign"}}, nil)
		if err != nil {
			b.Fatal(err)
		}
		tok, err := Parse(raw)
		if err != nil {
			b.Fatal(err)
		}
		b.Run("jti="+strconv.FormatBool(jti != ""), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = tok.ReuseKey()
			}
		})
	}
}

// reuseKey hashes small inputs from a stack buffer and large ones with a
// streaming hash: both give prefix + hex SHA-256(prefix, len(a), a, b).
func TestReuseKeyHashPaths(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 1, 100, 243, 244, 245, 300, 5000} {
		a, b := strings.Repeat("a", n/2), strings.Repeat("b", n-n/2)
		var l [8]byte
		binary.BigEndian.PutUint64(l[:], uint64(len(a)))
		sum := sha256.Sum256([]byte("jws:" + string(l[:]) + a + b))
		want := "jws:" + hex.EncodeToString(sum[:])
		if got := reuseKey("jws:", a, b); got != want {
			t.Fatalf("%d bytes (string): %s, want %s", n, got, want)
		}
		if got := reuseKey("jws:", []byte(a), []byte(b)); got != want {
			t.Fatalf("%d bytes ([]byte): %s, want %s", n, got, want)
		}
	}
}

// TestHMAC: an HS256 token (AWS) parses, and is checked with its shared
// secret only: never with a public key, and a secret checks no other token.
func TestHMAC(t *testing.T) {
	t.Parallel()
	secret := []byte(strings.Repeat("identity document signature ", 4))
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: secret}, nil)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := signer.Sign([]byte(`{"sub":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := jws.CompactSerialize()
	tok, err := Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := tok.Verify(secret); err != nil {
		t.Fatalf("Verify(secret): %v", err)
	}
	if err := tok.Verify([]byte(strings.Repeat("other secret ", 10))); err == nil {
		t.Fatal("Verify(other secret) succeeded")
	}
	key := newKey(t)
	if err := tok.Verify(key.Public()); err == nil {
		t.Fatal("Verify(public key) of an HS256 token succeeded")
	}
	// An HS256 header on an ES256 signature: refused with the key.
	good, err := Sign(key, &Claims{Subject: "x"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, ".")
	forged := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256"}`)) + "." + parts[1] + "." + parts[2]
	if ftok, err := Parse(forged); err == nil {
		if ftok.Verify(key.Public()) == nil {
			t.Fatal("Verify of an HS256 header with the ES256 key succeeded")
		}
	}
	gtok, err := Parse(good)
	if err != nil {
		t.Fatal(err)
	}
	if gtok.Verify(secret) == nil {
		t.Fatal("a shared secret verified an ES256 token")
	}
}
