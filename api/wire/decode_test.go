package wire

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mayfly-pki/mayfly/internal/timeutil"
)

// testCSR is a PEM CSR of realistic size (~500 bytes, 64-column lines): its
// contents do not matter to the decoder, only its shape does.
func testCSR() string {
	der := make([]byte, 340)
	for i := range der {
		der[i] = byte(i * 7)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
}

// testOTT is a JWT-shaped token of realistic size (~700 bytes).
func testOTT() string {
	enc := base64.RawURLEncoding
	header := enc.EncodeToString([]byte(`{"alg":"ES256","kid":"3kWeRzqH4wqk3Qq0oaKX5iUEdsBsvpf3E3vMZQCNY9M","typ":"JWT"}`))
	claims := enc.EncodeToString([]byte(`{"aud":"https://ca.example.com:9000/1.0/sign","exp":1735689900,` +
		`"iat":1735689600,"iss":"admin@example.com","jti":"7d5c9b3e1f0a4c2b8e6d4f2a0c8e6b4d2f0a8c6e4b2d0f8a6c4e2b0d8f6a4c2e",` +
		`"nbf":1735689600,"sans":["host.example.com","10.0.0.1"],"sha":"a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90",` +
		`"step":{"ssh":null},"sub":"host.example.com"}`))
	sig := enc.EncodeToString(bytes.Repeat([]byte{0xa5, 0x5a, 0x3c}, 22))
	return header + "." + claims + "." + sig
}

// stepBody is the body the step CLI sends: json.Marshal of its SignRequest,
// so empty notBefore/notAfter are present as "".
func stepBody(tb testing.TB, notBefore, notAfter string) []byte {
	tb.Helper()
	b, err := json.Marshal(struct {
		CSR       string `json:"csr"`
		OTT       string `json:"ott"`
		NotBefore string `json:"notBefore"`
		NotAfter  string `json:"notAfter"`
	}{testCSR(), testOTT(), notBefore, notAfter})
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// decodeCases are inputs for the differential tests and the fuzz seeds.
func decodeCases(tb testing.TB) []string {
	csr, ott := testCSR(), testOTT()
	csrJSON, _ := json.Marshal(csr)
	body := func(fields string) string {
		return `{"csr":` + string(csrJSON) + `,"ott":"` + ott + `"` + fields + `}`
	}
	long := strings.Repeat("MIIBWjCCAQACAQAwHjEcMBoGA1UEAxMTaG9zdC5leGFtcGxlLmNvbTBZ\\n", 20000)
	cases := []string{
		// What clients send.
		string(stepBody(tb, "", "")),
		string(stepBody(tb, "2031-03-05T00:00:00Z", "2031-03-06T02:00:00.123456789+02:00")),
		string(stepBody(tb, "-5m", "24h")),
		body(``),
		body(`,"notBefore":"","notAfter":""`),
		body(`,"notAfter":"24h"`),
		`{"csr":"a","ott":"b","notBefore":"","notAfter":""}`,
		`{"ott":"b","csr":"a"}`,
		`{"notAfter":"1h","notBefore":"2031-03-05T00:00:00-07:00","ott":"","csr":""}`,
		`{}`, ` { } `, `{"csr":""}`,
		// Times and durations.
		`{"notBefore":"2031-03-05T00:00:00+00:00"}`,
		`{"notBefore":"2031-03-05T00:00:00.5-00:00"}`,
		`{"notBefore":"2031-03-05T00:00:00.999999999Z","notAfter":"2031-03-05T00:00:00,5Z"}`,
		`{"notBefore":"2031-03-05t00:00:00z"}`,
		`{"notBefore":"0001-01-01T00:00:00Z"}`,
		`{"notBefore":"0001-01-01T00:00:00+00:00"}`,
		`{"notBefore":"0000-01-01T00:00:00+23:59"}`,
		`{"notBefore":"9999-12-31T23:59:59-23:59"}`,
		`{"notBefore":"2031-03-05T00:00:00+24:00"}`,
		`{"notBefore":"1h30m","notAfter":"1.5h"}`,
		`{"notBefore":"0s","notAfter":"0"}`,
		`{"notBefore":"+5m","notAfter":"-0.5us"}`,
		`{"notBefore":"1µs"}`, `{"notBefore":"1\u00b5s"}`,
		`{"notBefore":"2562047h47m16.854775807s"}`,
		`{"notBefore":"9223372036854775808ns"}`,
		`{"notBefore":"tomorrow"}`, `{"notBefore":"1d"}`, `{"notAfter":" 24h"}`,
		`{"notBefore":"2031-13-01T00:00:00Z"}`, `{"notBefore":"2031-03-05 00:00:00"}`,
		`{"notBefore":"24\u0068"}`, `{"notBefore":"2\/4h"}`, `{"notBefore":"24h\n"}`,
		`{"notBefore":"24h","notBefore":""}`, `{"notBefore":"bad","notBefore":"24h"}`,
		`{"notBefore":null}`, `{"notAfter":null,"csr":"a"}`,
		`{"notBefore":0}`, `{"notBefore":{}}`, `{"notBefore":["1h"]}`, `{"notAfter":true}`,
		// Key spellings encoding/json also matches, and near misses.
		`{"CSR":"a"}`, `{"Csr":"a","OTT":"b"}`, `{"Ott":"b"}`, `{"notbefore":"1h"}`,
		`{"NOTAFTER":"1h"}`, `{"NotBefore":"1h"}`, `{"c\u017fr":"a"}`, `{"\u0063sr":"a"}`,
		`{"csr ":"a"}`, `{" csr":"a"}`, `{"cs":"a"}`, `{"csrr":"a"}`, `{"csr\"":"a"}`,
		`{"csr\\":"a"}`, `{"":"a"}`,
		// Duplicates and unknown keys.
		`{"csr":"a","csr":"b"}`, `{"ott":"a","ott":null}`, `{"csr":"a","CSR":"b"}`,
		`{"csr":"a","foo":1}`, `{"foo":{"bar":[1,2,{"x":null}]},"csr":"a"}`,
		`{"crt":"a"}`, `{"templatedata":{}}`,
		// templateData.
		`{"csr":"a","templateData":{"a":1}}`,
		`{"csr":"a","templateData": { "a" : [ 1 , 2 ] } }`,
		`{"templateData":null}`, `{"templateData":[1,2]}`, `{"templateData":"s"}`,
		`{"templateData":{}}`, `{"templateData":1.5e3}`, `{"TemplateData":{"x":"y"}}`,
		`{"templateData":{"a":1},"templateData":null}`, `{"templateData":{"a":}}`,
		// Null values, numbers and bools where strings are expected.
		`{"csr":null}`, `{"csr":"a","ott":null}`, `{"csr":1}`, `{"csr":-1.5e10}`,
		`{"ott":true}`, `{"ott":false}`, `{"csr":{}}`, `{"csr":[]}`, `{"csr":["a"]}`,
		// Escapes.
		`{"csr":"a\nb\rc\td\"e\\f\/g"}`, `{"csr":"\b\f"}`, `{"csr":"\u0041"}`,
		`{"csr":"\u00e9\u2028"}`, `{"csr":"\ud83d\ude00"}`, `{"csr":"\ud800"}`,
		`{"csr":"\udc00\ud800x"}`, `{"csr":"\uD83D\uDE00"}`, `{"csr":"\u12"}`,
		`{"csr":"\u12zz"}`, `{"csr":"\x41"}`, `{"csr":"\a"}`, `{"csr":"\'"}`,
		`{"csr":"\"}`, `{"csr":"a\`, `{"csr":"\\"}`, `{"csr":"\\\""}`, `{"csr":"\u0000"}`,
		// Raw bytes: UTF-8, invalid UTF-8, control characters, DEL.
		`{"csr":"é"}`, "{\"csr\":\"\u2028\"}", "{\"csr\":\"\xff\"}",
		"{\"csr\":\"\xc3\x28\"}", "{\"csr\":\"\xed\xa0\x80\"}", "{\"ott\":\"a\xe2\x82\"}",
		"{\"csr\":\"\x00\"}", "{\"csr\":\"\x1f\"}", "{\"csr\":\"a\nb\"}",
		"{\"csr\":\"a\tb\"}", "{\"csr\":\"\x7f\"}", "{\"csr\":\"a\"}\x00",
		// Whitespace.
		" \t\r\n{ \"csr\" : \"a\" ,\n\t\"ott\" :\r\n\"b\"\r\n} \n\t\r",
		"{\"csr\":\"a\"}\n", "{\"csr\":\"a\"}   ", "\n{\"csr\":\"a\"}",
		"{\"csr\":\"a\"}\f", "\v{\"csr\":\"a\"}", "{\"csr\"\u00a0:\"a\"}",
		"\xef\xbb\xbf{\"csr\":\"a\"}",
		// Not an object, or not one object.
		``, ` `, `null`, ` null `, `[]`, `[{"csr":"a"}]`, `"csr"`, `true`, `1`, `{`, `}`,
		`{"csr":"a"}x`, `{"csr":"a"}{}`, `{"csr":"a"},`, `{"csr":"a"}}`, `{"csr":"a"} null`,
		`{"csr":"a",}`, `{,}`, `{"csr"}`, `{"csr":}`, `{"csr" "a"}`, `{"csr":"a" "ott":"b"}`,
		`{"csr":"a";"ott":"b"}`, `{"csr`, `{"csr"`, `{"csr":`, `{"csr":"a`, `{"csr":"a"`,
		`{"csr":"a",`, `{'csr':'a'}`, `{csr:"a"}`, `{"csr":"a"/*x*/}`, `{"csr":"a"}//`,
		`{"csr":"a"`, `{{}}`, `{"csr":"a",,"ott":"b"}`,
		// Very long strings.
		`{"csr":"` + long + `","ott":"` + strings.Repeat("x", 1<<16) + `"}`,
		`{"csr":"` + strings.Repeat("\\u0041", 1000) + `"}`,
		`{"csr":"` + long + "\xff" + `"}`,
	}
	return cases
}

// errString is err's text, or "" for nil.
func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// checkDecode decodes b with DecodeSignRequest and with json.Unmarshal, each
// into its own fresh() target, and requires the same value and error text.
func checkDecode(tb testing.TB, b []byte, fresh func() SignRequest) {
	tb.Helper()
	in := bytes.Clone(b)
	want, got := fresh(), fresh()
	werr := json.Unmarshal(b, &want)
	gerr := DecodeSignRequest(b, &got)
	if errString(gerr) != errString(werr) {
		tb.Fatalf("input %q:\nDecodeSignRequest error %v\njson.Unmarshal error    %v", b, gerr, werr)
	}
	if !reflect.DeepEqual(got, want) {
		tb.Fatalf("input %q:\nDecodeSignRequest %#v\njson.Unmarshal    %#v", b, got, want)
	}
	if !bytes.Equal(b, in) {
		tb.Fatalf("input %q was modified", in)
	}
}

func zeroTarget() SignRequest { return SignRequest{} }

// prefilledTargets are non-zero targets, into which json.Unmarshal merges.
// Each call returns new values: RawMessage.UnmarshalJSON reuses the
// target's backing array, which the two decodes must not share.
func prefilledTargets() []func() SignRequest {
	// IsZero, yet not the zero value: time.Parse gives the zero instant a
	// location when the input has a numeric offset.
	zeroInstant := timeutil.NewTimeDuration(time.Time{}.In(time.FixedZone("X", 0)))
	return []func() SignRequest{
		func() SignRequest { return SignRequest{CSR: "old csr"} },
		func() SignRequest { return SignRequest{OTT: "old ott"} },
		func() SignRequest { return SignRequest{NotBefore: zeroInstant} },
		func() SignRequest { return SignRequest{NotAfter: timeutil.NewDuration(time.Hour)} },
		func() SignRequest { return SignRequest{TemplateData: json.RawMessage{}} },
		func() SignRequest {
			return SignRequest{
				CSR: "c", OTT: "o", NotBefore: zeroInstant, NotAfter: timeutil.NewDuration(-time.Minute),
				TemplateData: json.RawMessage(`{"old":true}`),
			}
		},
	}
}

func TestDecodeSignRequest(t *testing.T) {
	t.Parallel()
	for _, c := range decodeCases(t) {
		checkDecode(t, []byte(c), zeroTarget)
	}
}

func TestDecodeSignRequestNonZeroTarget(t *testing.T) {
	t.Parallel()
	for _, c := range decodeCases(t) {
		for _, fresh := range prefilledTargets() {
			checkDecode(t, []byte(c), fresh)
		}
	}
}

// TestDecodeSignRequestFastPath guards the optimisation: the bodies clients
// send must take the fast path, and give what json.Unmarshal gives.
func TestDecodeSignRequestFastPath(t *testing.T) {
	t.Parallel()
	indented, err := json.MarshalIndent(SignRequest{CSR: testCSR(), OTT: testOTT()}, "", "\t")
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range [][]byte{
		stepBody(t, "", ""),
		stepBody(t, "2031-03-05T00:00:00Z", "2031-03-06T02:00:00.123456789+02:00"),
		stepBody(t, "-5m", "24h"),
		[]byte(`{"csr":"` + strings.ReplaceAll(testCSR(), "\n", `\n`) + `","ott":"` + testOTT() + `"}`),
		indented,
		[]byte("{\r\n  \"csr\": \"a\\/b\\r\\n\",\r\n  \"ott\": \"\\\"x\\\\\"\r\n}\r\n"),
		[]byte(`{}`),
	} {
		v, ok := decodeSignRequestFast(b)
		if !ok {
			t.Fatalf("fast path not taken for %q", b)
		}
		var want SignRequest
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatalf("json.Unmarshal(%q): %v", b, err)
		}
		if !reflect.DeepEqual(v, want) {
			t.Fatalf("input %q:\nfast path      %#v\njson.Unmarshal %#v", b, v, want)
		}
	}
	for _, s := range []string{
		`{"CSR":"a"}`, `{"csr":"a","csr":"b"}`, `{"templateData":{}}`, `{"csr":null}`,
		`{"csr":"\u0041"}`, `{"notBefore":"tomorrow"}`, `{"csr":"é"}`, `null`,
	} {
		if _, ok := decodeSignRequestFast([]byte(s)); ok {
			t.Errorf("fast path taken for %q, which must fall back", s)
		}
	}
}

func FuzzDecodeSignRequest(f *testing.F) {
	for _, c := range decodeCases(f) {
		if len(c) < 4096 { // keep the long cases out of the mutator's seeds
			f.Add([]byte(c))
		}
	}
	targets := append([]func() SignRequest{zeroTarget}, prefilledTargets()...)
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, fresh := range targets {
			checkDecode(t, b, fresh)
		}
	})
}

func BenchmarkDecodeSignRequest(b *testing.B) {
	body := stepBody(b, "", "")
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var r SignRequest
		if err := DecodeSignRequest(body, &r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkJSONUnmarshalSignRequest(b *testing.B) {
	body := stepBody(b, "", "")
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var r SignRequest
		if err := json.Unmarshal(body, &r); err != nil {
			b.Fatal(err)
		}
	}
}
