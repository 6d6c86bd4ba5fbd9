package api_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/mayfly-pki/mayfly/api/wire"
	at "github.com/mayfly-pki/mayfly/authority/authoritytest"
)

// FuzzParseCSRBody posts arbitrary bodies to /sign. The handler must not
// panic and must answer a client error (never 5xx, never a certificate: no
// seed carries a token the CA accepts) as a well-formed error body.
func FuzzParseCSRBody(f *testing.F) {
	s := newServer(f, at.Options{})
	csrPEM := at.CSRPEM(at.NewCSR(f, at.CSR{CommonName: "f.example.com", DNSNames: []string{"f.example.com"}}))
	stranger := at.NewJWK(f, "admin")
	foreignToken := stranger.Sign(f, stranger.Claims(f, at.CAURL+"/1.0/sign", "f.example.com", s.env.Clock.Now()))
	seed := func(v map[string]any) {
		b, err := json.Marshal(v)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	seed(map[string]any{"csr": csrPEM, "ott": foreignToken, "notBefore": "", "notAfter": "1h"})
	seed(map[string]any{"csr": csrPEM, "ott": "x", "notAfter": "2031-03-05T00:00:00Z"})
	seed(map[string]any{"csr": strings.Replace(csrPEM, "CERTIFICATE REQUEST", "CERTIFICATE", 2), "ott": "x"})
	seed(map[string]any{"csr": csrPEM[:len(csrPEM)/2], "ott": "x"})
	seed(map[string]any{"csr": csrPEM + csrPEM, "ott": "x", "templateData": map[string]any{"a": 1}})
	seed(map[string]any{"csr": "-----BEGIN CERTIFICATE REQUEST-----\nMAA=\n-----END CERTIFICATE REQUEST-----\n", "ott": "x"})
	seed(map[string]any{"csr": nil, "ott": nil, "notBefore": nil})
	f.Add("")
	f.Add("{")
	f.Add(`{"csr":"` + strings.Repeat("A", 1000) + `"}`)

	f.Fuzz(func(t *testing.T, body string) {
		w := s.do(t, request{method: "POST", path: "/sign", body: body})
		s.logs.Reset()
		switch w.Code {
		case 400, 401, 403, 413:
		default:
			t.Fatalf("status %d for body %q: %s", w.Code, body, w.Body)
		}
		var e wire.Error
		if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Status != w.Code || e.Message == "" {
			t.Fatalf("error body %q (%v)", w.Body, err)
		}
	})
}

// FuzzRevokeBody posts arbitrary bodies to /revoke, which parses a serial
// before any authorization. The handler must not panic, must answer a
// well-formed client error, and its log line must stay short whatever the
// body holds.
func FuzzRevokeBody(f *testing.F) {
	s := newServer(f, at.Options{})
	for _, serial := range []string{"1", "0x1f", "0o17", "0b101", "017", "1_000", "0x_1", "-1", "zz", "",
		strings.Repeat("9", 49), strings.Repeat("9", 50), "0x" + strings.Repeat("f", 40), "0x1" + strings.Repeat("0", 40),
		strings.Repeat("1", 5000), strings.Repeat("1", 5000) + "z"} {
		b, err := json.Marshal(map[string]any{"serial": serial, "ott": "x", "reasonCode": 1, "reason": "r", "passive": true})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	f.Add(`{"serial":"5","passive":false}`)
	f.Add(`{"serial":5}`)
	f.Add(`{"serial":"5","reasonCode":11,"passive":true}`)
	f.Add("")

	f.Fuzz(func(t *testing.T, body string) {
		w := s.do(t, request{method: "POST", path: "/revoke", body: body})
		logs := s.logs.String()
		s.logs.Reset()
		switch w.Code {
		case 400, 401, 403, 413, 501:
		default:
			t.Fatalf("status %d for body %q: %s", w.Code, body, w.Body)
		}
		var e wire.Error
		if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Status != w.Code || e.Message == "" {
			t.Fatalf("error body %q (%v)", w.Body, err)
		}
		if len(logs) > 4096 {
			t.Fatalf("log line of %d bytes for a body of %d bytes", len(logs), len(body))
		}
	})
}
