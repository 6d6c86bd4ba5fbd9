package api_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mayfly-pki/mayfly/api/wire"
	at "github.com/mayfly-pki/mayfly/authority/authoritytest"
)

var ctx = context.Background()

// parseSignResponse decodes a SignResponse, checks its chain and tlsOptions
// and returns the leaf.
func parseSignResponse(t *testing.T, s *server, body []byte) *x509.Certificate {
	t.Helper()
	var r wire.SignResponse
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatal(err)
	}
	interPEM := at.CertPEM(s.env.PKI.Intermediate)
	if r.CA == nil || *r.CA != interPEM || len(r.CertChain) != 2 || r.CertChain[0] != r.Certificate || r.CertChain[1] != interPEM {
		t.Fatalf("SignResponse chain: ca %v, certChain %d entries", r.CA != nil, len(r.CertChain))
	}
	if string(r.TLSOptions) != tlsOptions {
		t.Fatalf("tlsOptions = %s", r.TLSOptions)
	}
	block, rest := pem.Decode([]byte(r.Certificate))
	if block == nil || block.Type != "CERTIFICATE" || len(rest) != 0 {
		t.Fatalf("crt %q", r.Certificate)
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSign(t *testing.T) {
	t.Parallel()
	s := newServer(t, at.Options{})
	for _, p := range prefixes {
		csr := at.NewCSR(t, at.CSR{CommonName: "api.example.com", DNSNames: []string{"api.example.com"}})
		w := s.do(t, request{method: "POST", path: p + "/sign", body: signBody(t, at.CSRPEM(csr), s.env.SignToken(t, "api.example.com"), "1h0m0s")})
		if w.Code != 201 || w.Header().Get("Content-Type") != "application/json" {
			t.Fatalf("POST %s/sign: %d %s", p, w.Code, w.Body)
		}
		c := parseSignResponse(t, s, w.Body.Bytes())
		if c.Subject.CommonName != "api.example.com" || c.NotAfter.Sub(c.NotBefore) != time.Hour+time.Minute {
			t.Fatalf("certificate %s valid %v", c.Subject, c.NotAfter.Sub(c.NotBefore))
		}
	}
}

func TestSignErrors(t *testing.T) {
	t.Parallel()
	s := newServer(t, at.Options{})
	csrPEM := at.CSRPEM(at.NewCSR(t, at.CSR{CommonName: "tok.example.com"}))
	used := s.env.SignToken(t, "tok.example.com")
	if w := s.do(t, request{method: "POST", path: "/sign", body: signBody(t, csrPEM, used, "")}); w.Code != 201 {
		t.Fatalf("first use: %d %s", w.Code, w.Body)
	}
	forged := at.NewCSR(t, at.CSR{CommonName: "tok.example.com"}).Raw
	forged = append([]byte{}, forged...)
	forged[len(forged)-1] ^= 1
	forgedPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: forged}))
	const unauthorized = "The request lacked necessary authorization to be completed. Please see the certificate authority logs for more info."
	tests := []struct {
		name   string
		body   string
		status int
		msg    string
	}{
		{"missing csr", signBody(t, "", "x", ""), 400, "The request could not be completed: missing csr."},
		{"null csr", `{"csr":null,"ott":"x"}`, 400, "The request could not be completed: missing csr."},
		{"csr not PEM", signBody(t, "garbage", "x", ""), 400, "The request could not be completed: invalid csr."},
		{"csr PEM of garbage", signBody(t, "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n", "x", ""), 400, "The request could not be completed: invalid csr."},
		{"missing ott", signBody(t, csrPEM, "", ""), 400, "The request could not be completed: missing ott."},
		{"bad csr signature", signBody(t, forgedPEM, s.env.SignToken(t, "tok.example.com"), ""), 400, "The request could not be completed: invalid csr."},
		{"bad csr signature before missing ott", signBody(t, forgedPEM, "", ""), 400, "The request could not be completed: invalid csr."},
		{"garbage ott", signBody(t, csrPEM, "garbage", ""), 401, unauthorized},
		{"reused ott", signBody(t, csrPEM, used, ""), 401, unauthorized},
		{"cn mismatch", signBody(t, csrPEM, s.env.SignToken(t, "other.example.com"), ""), 403,
			"The request was forbidden by the certificate authority: certificate request does not contain the valid common name - got tok.example.com, want [other.example.com other.example.com]."},
		{"too long", signBody(t, csrPEM, s.env.SignToken(t, "tok.example.com"), "48h"), 403,
			"The request was forbidden by the certificate authority: requested duration of 48h1m0s is more than the authorized maximum certificate duration of 24h1m0s."},
		{"bad notAfter", signBody(t, csrPEM, s.env.SignToken(t, "tok.example.com"), "soon"), 400, "The request could not be completed: error decoding json."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			wantError(t, s.do(t, request{method: "POST", path: "/1.0/sign", body: tc.body}), tc.status, tc.msg)
		})
	}
}

func TestRenew(t *testing.T) {
	t.Parallel()
	s := newServer(t, at.Options{})
	cert, key := s.env.Issue(t, "r.example.com", time.Hour)
	chain := []*x509.Certificate{cert, s.env.PKI.Intermediate}
	s.env.Clock.Add(10 * time.Minute)
	bearer := func(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }
	// A renew token has no jti: two minted for one certificate in the same
	// second sign the same bytes and are one token, so each waits a second.
	renewToken := func() string {
		s.env.Clock.Add(time.Second)
		return at.RenewToken(t, at.CAURL+"/renew", chain, key, s.env.Clock.Now(), nil)
	}

	for _, path := range []string{"/renew", "/1.0/renew", "/re-sign", "/1.0/re-sign"} {
		// mTLS, with the empty JSON body the CLI sends.
		w := s.do(t, request{method: "POST", path: path, peer: cert, header: map[string]string{"Content-Type": "application/json"}})
		if w.Code != 201 {
			t.Fatalf("mTLS %s: %d %s", path, w.Code, w.Body)
		}
		if c := parseSignResponse(t, s, w.Body.Bytes()); c.Subject.CommonName != "r.example.com" || c.SerialNumber.Cmp(cert.SerialNumber) == 0 {
			t.Fatalf("renewed %s serial %v", c.Subject, c.SerialNumber)
		}
		// Token flow.
		w = s.do(t, request{method: "POST", path: path, header: bearer(renewToken())})
		if w.Code != 201 {
			t.Fatalf("token %s: %d %s", path, w.Code, w.Body)
		}
	}

	// The client certificate wins over a (bad) Authorization header.
	if w := s.do(t, request{method: "POST", path: "/renew", peer: cert, header: bearer("garbage")}); w.Code != 201 {
		t.Fatalf("mTLS with a bad bearer: %d %s", w.Code, w.Body)
	}
	wantError(t, s.do(t, request{method: "POST", path: "/renew"}), 400, "The request could not be completed: missing client certificate.")
	wantError(t, s.do(t, request{method: "POST", path: "/renew", header: map[string]string{"Authorization": "bearer " + renewToken()}}), 400,
		"The request could not be completed: missing client certificate.")
	wantError(t, s.do(t, request{method: "POST", path: "/renew", header: bearer("garbage")}), 401, "error validating renew token")
	tok := renewToken()
	if w := s.do(t, request{method: "POST", path: "/renew", header: bearer(tok)}); w.Code != 201 {
		t.Fatalf("first use: %d", w.Code)
	}
	wantError(t, s.do(t, request{method: "POST", path: "/renew", header: bearer(tok)}), 401,
		"The request lacked necessary authorization to be completed. Please see the certificate authority logs for more info.")
}

func TestRekey(t *testing.T) {
	t.Parallel()
	s := newServer(t, at.Options{})
	cert, _ := s.env.Issue(t, "k.example.com", time.Hour)
	newKey := at.NewKey(t)
	body := mustJSON(t, map[string]string{"csr": at.CSRPEM(at.NewCSR(t, at.CSR{Key: newKey}))})
	for _, p := range prefixes {
		w := s.do(t, request{method: "POST", path: p + "/rekey", body: body, peer: cert})
		if w.Code != 201 {
			t.Fatalf("POST %s/rekey: %d %s", p, w.Code, w.Body)
		}
		c := parseSignResponse(t, s, w.Body.Bytes())
		if k, ok := c.PublicKey.(interface{ Equal(crypto.PublicKey) bool }); !ok || !k.Equal(newKey.Public()) {
			t.Fatal("rekeyed certificate does not carry the new key")
		}
	}
	wantError(t, s.do(t, request{method: "POST", path: "/rekey", body: body}), 400, "The request could not be completed: missing client certificate.")
	wantError(t, s.do(t, request{method: "POST", path: "/rekey", body: `{}`, peer: cert}), 400, "The request could not be completed: missing csr.")
	wantError(t, s.do(t, request{method: "POST", path: "/rekey", body: `{"csr":"x"}`, peer: cert}), 400, "The request could not be completed: invalid csr.")
	wantError(t, s.do(t, request{method: "POST", path: "/rekey", body: `{`, peer: cert}), 400, "The request could not be completed: error decoding json.")
}

// TestRekeyKeyPolicy: /rekey over mTLS refuses the weak key /sign refuses,
// with the same answer (issue 14, item 2).
func TestRekeyKeyPolicy(t *testing.T) {
	t.Parallel()
	s := newServer(t, at.Options{})
	cert, _ := s.env.Issue(t, "k.example.com", time.Hour)
	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	csrPEM := at.CSRPEM(at.NewCSR(t, at.CSR{CommonName: "k.example.com", Key: weak}))
	const msg = "The request was forbidden by the certificate authority: certificate request RSA key must be at least 2048 bits (2048)."
	wantError(t, s.do(t, request{method: "POST", path: "/sign", body: signBody(t, csrPEM, s.env.SignToken(t, "k.example.com"), "")}), 403, msg)
	for _, p := range prefixes {
		wantError(t, s.do(t, request{method: "POST", path: p + "/rekey", body: mustJSON(t, map[string]string{"csr": csrPEM}), peer: cert}), 403, msg)
	}
}

func TestRevoke(t *testing.T) {
	t.Parallel()
	s := newServer(t, at.Options{Store: at.OpenBadger(t)})
	byToken, _ := s.env.Issue(t, "t.example.com", time.Hour)
	byMTLS, _ := s.env.Issue(t, "m.example.com", time.Hour)
	serial := byToken.SerialNumber.String()
	revoke := func(serial, ott string, reason int, passive bool) string {
		return mustJSON(t, map[string]any{"serial": serial, "ott": ott, "reasonCode": reason, "reason": "key compromised", "passive": passive})
	}

	w := s.do(t, request{method: "POST", path: "/1.0/revoke", body: revoke(serial, s.env.RevokeToken(t, serial), 1, true)})
	if w.Code != 200 || w.Body.String() != "{\"status\":\"ok\"}\n" {
		t.Fatalf("revoke by token: %d %s", w.Code, w.Body)
	}
	mserial := byMTLS.SerialNumber.String()
	w = s.do(t, request{method: "POST", path: "/revoke", body: revoke(fmt.Sprintf("0x%x", byMTLS.SerialNumber), "", 0, true), peer: byMTLS})
	if w.Code != 200 {
		t.Fatalf("revoke by mTLS: %d %s", w.Code, w.Body)
	}
	if rec, err := s.env.Store.GetRevocation(ctx, mserial); err != nil || !rec.MTLS {
		t.Fatalf("mTLS revocation record %+v, %v", rec, err)
	}
	// A revoked certificate no longer renews.
	wantError(t, s.do(t, request{method: "POST", path: "/renew", peer: byToken}), 401, "")

	tests := []struct {
		name   string
		body   string
		status int
		msg    string
	}{
		{"missing serial", revoke("", "x", 0, true), 400, "The request could not be completed: missing serial."},
		{"reason code high", revoke("1", "x", 11, true), 400, "The request could not be completed: reasonCode out of bounds."},
		{"reason code negative", revoke("1", "x", -1, true), 400, "The request could not be completed: reasonCode out of bounds."},
		{"not passive", revoke("1", "x", 0, false), 501,
			"The requested method is not implemented by the certificate authority. Please see the certificate authority logs for more info."},
		{"no credentials", revoke("1", "", 0, true), 400, "The request could not be completed: missing ott or client certificate."},
		{"bad serial", revoke("zz", s.env.RevokeToken(t, "zz"), 0, true), 400,
			"The request could not be completed: 'zz' is not a valid serial number - use a base 10 representation or a base 16 representation with '0x' prefix."},
		{"subject mismatch", revoke("99", s.env.RevokeToken(t, "12346"), 0, true), 403,
			`The request was forbidden by the certificate authority: request serial number "99" and token subject "12346" do not match.`},
		{"already revoked", revoke(serial, s.env.RevokeToken(t, serial), 0, true), 400,
			fmt.Sprintf("The request could not be completed: certificate with serial number '%s' is already revoked.", serial)},
		{"garbage token", revoke("5", "garbage", 0, true), 401, ""},
		// The serial is validated first (wire-spec §3.4 order).
		{"bad serial before reason code", revoke("0xzz", "x", 11, true), 400,
			"The request could not be completed: '0xzz' is not a valid serial number - use a base 10 representation or a base 16 representation with '0x' prefix."},
		{"bad serial before passive", revoke("zz", "x", 0, false), 400, ""},
		{"bad serial before credentials", revoke("zz", "", 0, true), 400,
			"The request could not be completed: 'zz' is not a valid serial number - use a base 10 representation or a base 16 representation with '0x' prefix."},
	}
	for _, tc := range tests {
		wantError(t, s.do(t, request{method: "POST", path: "/revoke", body: tc.body}), tc.status, tc.msg)
	}
	other, _ := s.env.Issue(t, "o.example.com", time.Hour)
	wantError(t, s.do(t, request{method: "POST", path: "/revoke", body: revoke("99", "", 0, true), peer: other}), 403,
		fmt.Sprintf(`The request was forbidden by the certificate authority: request serial number "99" and certificate serial number "%s" do not match.`, other.SerialNumber))
}

func TestRevokeWithoutDatabase(t *testing.T) {
	t.Parallel()
	s := newServer(t, at.Options{})
	body := mustJSON(t, map[string]any{"serial": "5", "ott": s.env.RevokeToken(t, "5"), "passive": true})
	wantError(t, s.do(t, request{method: "POST", path: "/revoke", body: body}), 501, "")
}

// TestLogNeverHoldsSecrets: the access log names the request but never
// carries the token, the CSR or the certificate (wire-spec §2.4 fields aside).
func TestLogNeverHoldsSecrets(t *testing.T) {
	t.Parallel()
	s := newServer(t, at.Options{})
	csr := at.NewCSR(t, at.CSR{CommonName: "log.example.com"})
	csrPEM := at.CSRPEM(csr)
	ott := s.env.SignToken(t, "log.example.com")
	w := s.do(t, request{method: "POST", path: "/sign", body: signBody(t, csrPEM, ott, ""), header: map[string]string{"X-Request-Id": "rid-1"}})
	if w.Code != 201 {
		t.Fatalf("sign: %d %s", w.Code, w.Body)
	}
	c := parseSignResponse(t, s, w.Body.Bytes())
	// Refused requests: reuse (401), CN mismatch (403), bad renew token (401).
	badCN := s.env.SignToken(t, "other.example.com")
	s.do(t, request{method: "POST", path: "/sign", body: signBody(t, csrPEM, ott, "")})
	s.do(t, request{method: "POST", path: "/sign", body: signBody(t, csrPEM, badCN, "")})
	renewTok := at.RenewToken(t, at.CAURL+"/1.0/sign", []*x509.Certificate{c}, at.NewKey(t), s.env.Clock.Now(), nil)
	s.do(t, request{method: "POST", path: "/renew", header: map[string]string{"Authorization": "Bearer " + renewTok}})

	logs := s.logs.String()
	lines := strings.Split(strings.TrimSpace(logs), "\n")
	if len(lines) != 4 {
		t.Fatalf("%d log lines, want one per request:\n%s", len(lines), logs)
	}
	csrB64 := base64.StdEncoding.EncodeToString(csr.Raw)
	for _, secret := range []struct{ name, value string }{
		{"token", ott}, {"token payload", strings.Split(ott, ".")[1]}, {"token signature", strings.Split(ott, ".")[2]},
		{"refused token", badCN}, {"renew token", renewTok}, {"renew token payload", strings.Split(renewTok, ".")[1]},
		{"csr", csrB64[:64]}, {"certificate", base64.StdEncoding.EncodeToString(c.Raw)[:64]},
	} {
		if strings.Contains(logs, secret.value) {
			t.Fatalf("log contains the %s:\n%s", secret.name, logs)
		}
	}
	var first map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	if first["request-id"] != "rid-1" || first["status"] != float64(201) || first["serial"] != c.SerialNumber.String() ||
		first["provisioner"] != "admin" || first["subject"] != "log.example.com" || first["level"] != "info" || first["path"] != "/sign" {
		t.Fatalf("sign log line: %s", lines[0])
	}
	for _, l := range lines[1:] {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatal(err)
		}
		if m["level"] != "warning" || m["error"] == nil || m["error"] == "" {
			t.Fatalf("refused request log line: %s", l)
		}
	}
}
