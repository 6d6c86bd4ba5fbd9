package token

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	mjose "github.com/mayfly-pki/mayfly/internal/jose"
)

// rootSHA is a root fingerprint as the CLI writes it in sha.
const rootSHA = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90"

// mintedPayload signs c with key as the CLI does and returns the decoded
// claims segment of the token, so that the payload is exactly the one the CA
// receives.
func mintedPayload(tb testing.TB, key *jose.JSONWebKey, c *Claims, headers map[string]any) []byte {
	tb.Helper()
	raw, err := Sign(key, c, headers)
	if err != nil {
		tb.Fatal(err)
	}
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		tb.Fatalf("token has %d parts", len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// mintedPayloads are the claims of the X.509 tokens this project mints,
// built as cmd/step's signToken and renewToken (which tests here cannot
// import) and authoritytest build them, and signed with Sign.
func mintedPayloads(tb testing.TB) map[string][]byte {
	tb.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	key, err := mjose.NewSigningJWK(k)
	if err != nil {
		tb.Fatal(err)
	}
	now := time.Now()
	ca := "https://ca.example.com:9000"
	// signToken in cmd/step/internal/command/ca/token_mint.go.
	cli := func(aud, sub string, sans []string, user map[string]any, nbf time.Time, validity time.Duration) *Claims {
		jti, err := NewID()
		if err != nil {
			tb.Fatal(err)
		}
		if nbf.IsZero() {
			nbf = now
		}
		if validity == 0 {
			validity = DefaultValidity
		}
		return &Claims{
			Audience: Audience{aud}, Issuer: "admin@example.com", Subject: sub, ID: jti, SHA: rootSHA,
			IssuedAt: NewNumericDate(now), NotBefore: NewNumericDate(nbf),
			Expiry: NewNumericDate(nbf.Add(validity)), SANs: sans, User: user,
		}
	}
	// renewToken in cmd/step/internal/command/ca/renew.go.
	renew := &Claims{
		Audience: Audience{ca + "/renew"}, Issuer: "step-ca-client/1.0", Subject: "host.example.com",
		IssuedAt: NewNumericDate(now), NotBefore: NewNumericDate(now),
		Expiry: NewNumericDate(now.Add(DefaultValidity)),
	}
	x5c := map[string]any{"x5cInsecure": []string{base64.StdEncoding.EncodeToString([]byte("leaf certificate"))}}
	return map[string][]byte{
		// step ca token host.example.com
		"step ca token": mintedPayload(tb, key, cli(ca+"/1.0/sign", "host.example.com", []string{"host.example.com"}, map[string]any{}, time.Time{}, 0), nil),
		// step ca token --san ... --not-before ... --not-after ...
		"step ca token --san": mintedPayload(tb, key, cli(ca+"/1.0/sign", "host.example.com",
			[]string{"host.example.com", "www.example.com", "10.0.0.1", "2001:db8::1", "user@example.com", "spiffe://example.com/host"},
			map[string]any{}, now.Add(10*time.Minute), time.Hour), nil),
		// step ca certificate host.example.com host.crt host.key --san ...
		"step ca certificate":          mintedPayload(tb, key, cli(ca+"/1.0/sign", "host.example.com", []string{"host.example.com", "10.0.0.1"}, nil, time.Time{}, 0), nil),
		"step ca certificate, no SANs": mintedPayload(tb, key, cli(ca+"/1.0/sign", "host.example.com", nil, nil, time.Time{}, 0), nil),
		// step ca token --revoke, step ca revoke
		"step ca revoke": mintedPayload(tb, key, cli(ca+"/1.0/revoke", "156828452389474393385781466034357342396", nil, nil, time.Time{}, 0), nil),
		// step ca certificates (admin listing)
		"step ca certificates": mintedPayload(tb, key, cli(ca+"/admin/certificates", "admin", nil, nil, time.Time{}, 0), nil),
		"step ca renew":        mintedPayload(tb, key, renew, x5c),
	}
}

// claimsCases are inputs for the differential tests and the fuzz seeds.
func claimsCases(tb testing.TB) []string {
	tb.Helper()
	var cases []string
	for _, p := range mintedPayloads(tb) {
		cases = append(cases, string(p))
	}
	full := `{"aud":"https://ca/1.0/sign","exp":1795370526,"iat":1795370226,"iss":"admin","jti":"j1",` +
		`"nbf":1795370226,"sans":["a.example.com","10.0.0.1"],"sha":"abc","sub":"a.example.com"}`
	with := func(fields string) string { return `{"sub":"s"` + fields + `}` }
	long := strings.Repeat("host.example.com\\/", 5000)
	cases = append(cases,
		full,
		// Missing fields, other orders.
		`{}`, ` { } `, `{"sub":"x"}`, `{"exp":1}`, `{"aud":"a"}`, `{"sans":["a"]}`, `{"sha":""}`,
		`{"sub":"s","jti":"j","iss":"i","exp":3,"nbf":2,"iat":1,"aud":"a","sha":"h","sans":[]}`,
		`{"iss":"","jti":"","sha":"","sub":"","aud":""}`,
		// aud.
		with(`,"aud":["a","b#x5c/p"]`), with(`,"aud":["a"]`), with(`,"aud":[]`), with(`,"aud":[ ]`),
		with(`,"aud":[ "a" , "b" ]`), with(`,"aud":["a",null]`), with(`,"aud":[null]`), with(`,"aud":["a",1]`),
		with(`,"aud":null`), with(`,"aud":1`), with(`,"aud":{}`), with(`,"aud":true`), with(`,"aud":[["a"]]`),
		with(`,"aud":"https:\/\/ca\/1.0\/sign"`), with(`,"aud":"a\u0062"`), with(`,"aud":["a\"b","c\\d"]`),
		with(`,"aud":["a",]`), with(`,"aud":["a"`), with(`,"aud":["a" "b"]`), with(`,"aud":"a","sans":[]`),
		with(`,"aud":[],"sans":[]`), with(`,"aud":["x","y"],"sans":["a","b","c"]`),
		with(`,"aud":["1","2","3","4","5","6","7","8","9"],"sans":["1","2","3","4","5","6","7","8","9"]`),
		// Times.
		with(`,"exp":0`), with(`,"exp":00`), with(`,"exp":01`), with(`,"exp":-1`), with(`,"exp":-0`),
		with(`,"exp":+1`), with(`,"exp":1.5`), with(`,"exp":1.0`), with(`,"exp":-1.5`), with(`,"exp":1e3`),
		with(`,"exp":1E3`), with(`,"exp":1e+3`), with(`,"exp":1.5e-3`), with(`,"exp":1e400`), with(`,"exp":-1e400`),
		with(`,"exp":1e20`), with(`,"exp":-1e20`), with(`,"exp":1.`), with(`,"exp":.5`), with(`,"exp":1e`),
		with(`,"exp":9007199254740991`), with(`,"exp":9007199254740992`), with(`,"exp":9007199254740993`),
		with(`,"exp":9007199254740994`), with(`,"exp":9999999999999999`), with(`,"exp":10000000000000000`),
		with(`,"exp":99999999999999999`), with(`,"exp":9223372036854775807`), with(`,"exp":9223372036854775808`),
		with(`,"exp":18446744073709551616`), with(`,"exp":`+strings.Repeat("9", 400)+`}`),
		with(`,"exp":null`), with(`,"iat":null`), with(`,"nbf":null`), with(`,"exp":"1"`), with(`,"exp":true`),
		with(`,"exp":[1]`), with(`,"exp":{}`), with(`,"exp":1 ,"iat":2 ,"nbf":3 `), with(`,"exp":1x`),
		with(`,"exp":0x10`), with(`,"exp":Infinity`), with(`,"exp":NaN`), with(`,"exp":1795370526.999`),
		// sans.
		with(`,"sans":[]`), with(`,"sans":null`), with(`,"sans":"a"`), with(`,"sans":["a",null]`),
		with(`,"sans":[1]`), with(`,"sans":[{}]`), with(`,"sans":["a","a"]`), with(`,"sans":[""]`),
		with(`,"sans":[`+strings.Repeat(`"x",`, 100)+`"y"]`),
		// Other string values.
		with(`,"iss":null`), with(`,"jti":1`), with(`,"sha":true`), with(`,"iss":{}`), with(`,"jti":[]`),
		`{"sub":null}`, `{"sub":1}`,
		// Nested and other claims.
		with(`,"user":{}`), with(`,"user":{ }`), with(`,"user":{"a":1}`), with(`,"user":null`), with(`,"user":[]`),
		with(`,"user":{},"user":{}`), with(`,"user":{"a":{"b":[1,"x",null,true]}}`), with(`,"user":{}}`),
		with(`,"step":{"ssh":null}`), with(`,"step":{"ssh":{"certType":"user","principals":["a"]}}`),
		with(`,"step":{"ra":{"x":1}}`), with(`,"step":null`), with(`,"step":{"RA":[1]}`),
		with(`,"cnf":{"x5rt#S256":"fp"}`), with(`,"cnf":{"kid":"k"}`), with(`,"cnf":null`),
		with(`,"foo":1`), with(`,"foo":{"aud":"x"}`), with(`,"":1`), with(`,"x5c":["a"]`),
		// Case and spelling variants encoding/json matches, and near misses.
		`{"AUD":"a"}`, `{"Aud":"a"}`, `{"Sub":"a"}`, `{"SUB":"a"}`, `{"EXP":1}`, `{"Exp":1.5}`,
		`{"SANS":["a"]}`, `{"Sans":null}`, `{"SHA":"h"}`, `{"JTI":"j"}`, `{"ISS":"i"}`, `{"NBF":1}`, `{"IAT":1}`,
		`{"USER":{}}`, `{"User":{}}`, `{"User":{"a":1}}`, `{"Step":{}}`, `{"CNF":{"KID":"k"}}`,
		`{"ſub":"a"}`, `{"\u017fub":"a"}`, `{"\u0073ub":"a"}`, `{"su\u0062":"a"}`, `{"s\ub":"a"}`,
		`{"sub ":"a"}`, `{" sub":"a"}`, `{"su":"a"}`, `{"subb":"a"}`, `{"sub\"":"a"}`, `{"sub\\":"a"}`,
		`{"aud\"":"a"}`, `{"exp\\":1}`,
		// Duplicates.
		`{"sub":"a","sub":"b"}`, `{"sub":"a","Sub":"b"}`, `{"sub":"a","SUB":"b"}`, `{"exp":1,"exp":2}`,
		`{"exp":1,"exp":null}`, `{"sans":["a"],"sans":["b","c"]}`, `{"sans":["a","b"],"sans":["c"]}`,
		`{"aud":"a","aud":["b"]}`, `{"sans":["a"],"sans":null}`, `{"iss":"a","iss":1}`,
		// Escapes.
		with(`,"iss":"a\nb\rc\td\"e\\f\/g"`), with(`,"iss":"\b\f"`), with(`,"iss":"\u0041"`),
		with(`,"iss":"\u003cx\u003e\u0026"`), with(`,"iss":"\u00e9\u2028"`), with(`,"iss":"\ud83d\ude00"`),
		with(`,"iss":"\ud800"`), with(`,"iss":"\udc00\ud800x"`), with(`,"iss":"\uD83D\uDE00"`), with(`,"iss":"\u12"`),
		with(`,"iss":"\u12zz"`), with(`,"iss":"\x41"`), with(`,"iss":"\a"`), with(`,"iss":"\'"`), with(`,"iss":"\"}`),
		with(`,"iss":"\\"`), with(`,"iss":"\\\""`), with(`,"iss":"\u0000"`), with(`,"sans":["\u0061","\ud800"]`),
		`{"sub":"a\`, `{"sub":"\`,
		// Raw bytes: UTF-8, invalid UTF-8, control characters, DEL.
		with(`,"iss":"é"`), with("\"iss\":\"\u2028\""), with(",\"iss\":\"\xff\""), with(",\"iss\":\"\xc3\x28\""),
		with(",\"iss\":\"\xed\xa0\x80\""), with(",\"aud\":\"a\xe2\x82\""), with(",\"aud\":[\"\xff\"]"),
		with(",\"sans\":[\"\xff\"]"), with(",\"iss\":\"\x00\""), with(",\"iss\":\"\x1f\""), with(",\"iss\":\"a\nb\""),
		with(",\"iss\":\"a\tb\""), with(",\"iss\":\"\x7f\""), with(",\"aud\":\"\x7f\""), "{\"sub\":\"a\"}\x00",
		// Whitespace.
		" \t\r\n{ \"sub\" : \"a\" ,\n\t\"exp\" :\r\n1 , \"sans\" : [ \"a\" , \"b\" ] , \"aud\" : [ ] , \"user\" : { } \r\n} \n\t\r",
		"{\"sub\":\"a\"}\n", "{\"sub\":\"a\"}   ", "\n{\"sub\":\"a\"}", "{\"sub\":\"a\"}\f", "\v{\"sub\":\"a\"}",
		"{\"sub\"\u00a0:\"a\"}", "\xef\xbb\xbf{\"sub\":\"a\"}", strings.ReplaceAll(full, ",", " ,\n "),
		// Not an object, or not one object.
		``, ` `, `null`, ` null `, `[]`, `[{"sub":"a"}]`, `"sub"`, `true`, `1`, `{`, `}`,
		`{"sub":"a"}x`, `{"sub":"a"}{}`, `{"sub":"a"},`, `{"sub":"a"}}`, `{"sub":"a"} null`,
		`{"sub":"a",}`, `{,}`, `{"sub"}`, `{"sub":}`, `{"sub" "a"}`, `{"sub":"a" "iss":"b"}`,
		`{"sub":"a";"iss":"b"}`, `{"sub`, `{"sub"`, `{"sub":`, `{"sub":"a`, `{"sub":"a"`,
		`{"sub":"a",`, `{'sub':'a'}`, `{sub:"a"}`, `{"sub":"a"/*x*/}`, `{"sub":"a"}//`,
		`{{}}`, `{"sub":"a",,"iss":"b"}`, `{"exp":1`, `{"exp":`, `{"sans":[`, `{"sans":["a",`, `{"user":{`,
		// Very long strings.
		`{"sub":"`+long+`","aud":"`+strings.Repeat("x", 1<<16)+`"}`,
		`{"sub":"`+strings.Repeat("\\u0041", 1000)+`"}`,
		`{"sub":"`+long+"\xff"+`"}`,
	)
	return cases
}

// nonZeroTargets return fresh non-zero Claims to decode into: json.Unmarshal
// merges into them, and decodeClaims must too.
var nonZeroTargets = []func() Claims{
	func() Claims { return Claims{Subject: "old"} },
	func() Claims {
		return Claims{SANs: []string{"old1", "old2", "old3"}, Audience: Audience{}, User: map[string]any{"old": 1.0}}
	},
	func() Claims {
		e := NumericDate(7)
		return Claims{Expiry: &e, Step: &StepClaims{SSH: &SSHOptions{KeyID: "k"}}, Cnf: &Confirmation{Kid: "k"}}
	},
	func() Claims { return Claims{SANs: []string{}} },
}

// errString is err's text, or "" for nil.
func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// checkDecodeClaims decodes b with decodeClaims and json.Unmarshal into
// fresh copies of target and reports any difference in value or error.
func checkDecodeClaims(t *testing.T, b []byte, target func() Claims) {
	t.Helper()
	got, want := target(), target()
	err := decodeClaims(b, &got)
	wantErr := json.Unmarshal(b, &want)
	if errString(err) != errString(wantErr) {
		t.Fatalf("decodeClaims(%q): error %q, json.Unmarshal: %q", b, errString(err), errString(wantErr))
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("decodeClaims(%q):\n got %#v\nwant %#v", b, got, want)
	}
	if err == nil {
		// Equal values must also marshal alike (this shows nil versus
		// empty slices and maps in the failure message).
		gj, _ := json.Marshal(got)
		wj, _ := json.Marshal(want)
		if string(gj) != string(wj) {
			t.Fatalf("decodeClaims(%q): marshals to %s, json.Unmarshal's to %s", b, gj, wj)
		}
	}
}

func TestDecodeClaimsMatchesJSON(t *testing.T) {
	t.Parallel()
	zero := func() Claims { return Claims{} }
	for _, c := range claimsCases(t) {
		checkDecodeClaims(t, []byte(c), zero)
		for _, target := range nonZeroTargets {
			checkDecodeClaims(t, []byte(c), target)
		}
	}
}

// TestDecodeClaimsFastPath checks that the tokens this project mints for
// sign, renew and revoke take the fast path, so that the optimization
// cannot silently disappear, and that a few inputs on the edge of the
// accepted shapes are taken or left as intended.
func TestDecodeClaimsFastPath(t *testing.T) {
	t.Parallel()
	for name, p := range mintedPayloads(t) {
		t.Run(name, func(t *testing.T) {
			got, ok := decodeClaimsFast(p)
			if !ok {
				t.Fatalf("fast path not taken for %s", p)
			}
			var want Claims
			if err := json.Unmarshal(p, &want); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("fast path:\n got %#v\nwant %#v", got, want)
			}
		})
	}
	for in, fast := range map[string]bool{
		`{}`:                               true,
		`{"aud":["a","b"],"sans":[]}`:      true,
		`{"user":{}}`:                      true,
		`{"exp":9007199254740992}`:         true,
		`{"exp":9007199254740993}`:         false,
		`{"exp":1.5}`:                      false,
		`{"user":{"a":1}}`:                 false,
		`{"step":{"ssh":null}}`:            false,
		`{"cnf":{"kid":"k"}}`:              false,
		`{"Sub":"a"}`:                      false,
		`{"sub":"a","sub":"b"}`:            false,
		`{"sub":"\u0041"}`:                 false,
		`{"sub":"é"}`:                      false,
		`{"sans":null}`:                    false,
		`{"sub":"a"} x`:                    false,
		` {"sub":"a\/\"\\\n\r\t"} ` + "\n": true,
	} {
		if _, ok := decodeClaimsFast([]byte(in)); ok != fast {
			t.Errorf("decodeClaimsFast(%q): fast path %v, want %v", in, ok, fast)
		}
	}
	// A non-zero target is never decoded by the fast path.
	c := Claims{Subject: "old"}
	if err := decodeClaims([]byte(`{"iss":"i"}`), &c); err != nil || c.Subject != "old" || c.Issuer != "i" {
		t.Fatalf("decode into a non-zero Claims: %v, %+v", err, c)
	}
}

func FuzzDecodeClaims(f *testing.F) {
	for _, c := range claimsCases(f) {
		f.Add([]byte(c))
	}
	zero := func() Claims { return Claims{} }
	f.Fuzz(func(t *testing.T, b []byte) {
		checkDecodeClaims(t, b, zero)
		checkDecodeClaims(t, b, nonZeroTargets[1])
		// What the fast path accepts json.Unmarshal accepts, with the
		// same result (checked above through decodeClaims).
		if _, ok := decodeClaimsFast(b); ok {
			var c Claims
			if err := json.Unmarshal(b, &c); err != nil {
				t.Fatalf("fast path accepted %q, which json.Unmarshal rejects: %v", b, err)
			}
		}
	})
}

// benchPayload is the claims of a sign token as `step ca token` writes it.
func benchPayload(b *testing.B) []byte {
	return mintedPayloads(b)["step ca token --san"]
}

func BenchmarkDecodeClaims(b *testing.B) {
	p := benchPayload(b)
	if _, ok := decodeClaimsFast(p); !ok {
		b.Fatal("fast path not taken")
	}
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	// One Claims, as in Token: only the decoder's allocations are counted.
	var c Claims
	for b.Loop() {
		c = Claims{}
		if err := decodeClaims(p, &c); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkJSONUnmarshalClaims(b *testing.B) {
	p := benchPayload(b)
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	var c Claims
	for b.Loop() {
		c = Claims{}
		if err := json.Unmarshal(p, &c); err != nil {
			b.Fatal(err)
		}
	}
}
