package api_test

import (
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mayfly-pki/mayfly/api"
	at "github.com/mayfly-pki/mayfly/authority/authoritytest"
)

// maxSerial is the largest serial number accepted: 20 octets of ones.
var maxSerial = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 160), big.NewInt(1))

const serialRule = "a serial number has at most 20 octets (49 decimal digits, or 0x and 40 hexadecimal digits)"

// TestRevokeSerialBounds: /revoke refuses an oversized serial with a 400
// before parsing it (issue 14 item 5), and the log line of the refusal
// stays short. Serials up to 20 octets, in any spelling step-ca accepts,
// still reach the next check ("missing ott or client certificate").
func TestRevokeSerialBounds(t *testing.T) {
	t.Parallel()
	s := newServer(t, at.Options{Store: at.OpenBadger(t)})
	revoke := func(serial string) string {
		return mustJSON(t, map[string]any{"serial": serial, "reasonCode": 1, "passive": true})
	}
	const noCreds = "The request could not be completed: missing ott or client certificate."
	for _, tc := range []struct {
		name, serial, msg string
	}{
		{"20 octets in decimal", maxSerial.String(), noCreds},
		{"20 octets in hex", fmt.Sprintf("0x%x", maxSerial), noCreds},
		{"20 octets in upper-case hex", fmt.Sprintf("0X%X", maxSerial), noCreds},
		{"20 octets in binary", fmt.Sprintf("0b%b", maxSerial), noCreds},
		{"20 octets with leading zeros", fmt.Sprintf("0x0000%x", maxSerial), noCreds},
		{"octal", "0o17", noCreds},
		{"21 octets in decimal", new(big.Int).Add(maxSerial, big.NewInt(1)).String(),
			"The request could not be completed: serial number '1461501637330902918203684832716283019655932542976' is too large: " + serialRule + "."},
		{"21 octets in hex", "0x1" + strings.Repeat("0", 40),
			"The request could not be completed: serial number '0x1" + strings.Repeat("0", 40) + "' is too large: " + serialRule + "."},
		{"163 characters", strings.Repeat("0", 162) + "1",
			"The request could not be completed: serial number is too long: 163 characters, at most 162; " + serialRule + "."},
		{"250,000 digits", strings.Repeat("7", 250000),
			"The request could not be completed: serial number is too long: 250000 characters, at most 162; " + serialRule + "."},
		// Before the bound, this one was parsed and quoted whole, in the
		// response and in a 250,000-character log line.
		{"250,000 digits and a letter", strings.Repeat("7", 250000) + "z",
			"The request could not be completed: serial number is too long: 250001 characters, at most 162; " + serialRule + "."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s.logs.Reset()
			w := s.do(t, request{method: "POST", path: "/1.0/revoke", body: revoke(tc.serial)})
			wantError(t, w, http.StatusBadRequest, tc.msg)
			if n := len(s.logs.String()); n > 2048 {
				t.Fatalf("the log line of the refusal is %d bytes long:\n%.500s...", n, s.logs.String())
			}
		})
	}
}

// TestFieldBounds: every handler refuses an oversized field with a 400 in
// step-ca's error style, naming the field, before parsing it.
func TestFieldBounds(t *testing.T) {
	t.Parallel()
	s := newServer(t, at.Options{Store: at.OpenBadger(t)})
	cert, _ := s.env.Issue(t, "bounds.example.com", time.Hour)
	csrPEM := at.CSRPEM(at.NewCSR(t, at.CSR{CommonName: "bounds.example.com", DNSNames: []string{"bounds.example.com"}}))
	const maxToken = 64 << 10
	bigToken := strings.Repeat("e", maxToken+1)
	bigCSR := "-----BEGIN CERTIFICATE REQUEST-----\n" + strings.Repeat("A", api.MaxCSRSize) + "\n-----END CERTIFICATE REQUEST-----\n"
	tooLong := func(field string, n, max int) string {
		return fmt.Sprintf("The request could not be completed: %s is too long: %d bytes, at most %d.", field, n, max)
	}
	bearer := func(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }
	q := func(k, v string) string { return "?" + url.Values{k: {v}}.Encode() }
	long := strings.Repeat("x", 1000)
	for _, tc := range []struct {
		name string
		req  request
		msg  string
	}{
		{"sign ott", request{method: "POST", path: "/sign", body: signBody(t, csrPEM, bigToken, "")},
			tooLong("ott", len(bigToken), maxToken)},
		{"sign csr", request{method: "POST", path: "/1.0/sign", body: signBody(t, bigCSR, "x", "")},
			tooLong("csr", len(bigCSR), api.MaxCSRSize)},
		{"sign templateData", request{method: "POST", path: "/sign",
			body: `{"csr":"x","ott":"y","templateData":"` + strings.Repeat("t", api.MaxTemplateDataSize) + `"}`},
			tooLong("templateData", api.MaxTemplateDataSize+2, api.MaxTemplateDataSize)},
		{"revoke ott", request{method: "POST", path: "/revoke",
			body: mustJSON(t, map[string]any{"serial": "5", "ott": bigToken, "passive": true})},
			tooLong("ott", len(bigToken), maxToken)},
		{"revoke reason", request{method: "POST", path: "/revoke",
			body: mustJSON(t, map[string]any{"serial": "5", "ott": "x", "reason": strings.Repeat("r", api.MaxReasonSize+1), "passive": true})},
			tooLong("reason", api.MaxReasonSize+1, api.MaxReasonSize)},
		{"renew bearer token", request{method: "POST", path: "/renew", header: bearer(bigToken)},
			tooLong("authorization token", len(bigToken), maxToken)},
		{"rekey csr", request{method: "POST", path: "/rekey", body: mustJSON(t, map[string]string{"csr": bigCSR}), peer: cert},
			tooLong("csr", len(bigCSR), api.MaxCSRSize)},
		{"root fingerprint", request{method: "GET", path: "/root/" + long}, tooLong("fingerprint", len(long), 128)},
		{"provisioners cursor", request{method: "GET", path: "/provisioners" + q("cursor", long)}, tooLong("cursor", len(long), 128)},
		{"provisioners limit", request{method: "GET", path: "/1.0/provisioners" + q("limit", long)}, tooLong("limit", len(long), 32)},
		{"encrypted-key kid", request{method: "GET", path: "/provisioners/" + long + "/encrypted-key"}, tooLong("kid", len(long), 128)},
		{"admin bearer token", request{method: "GET", path: "/admin/certificates", header: bearer(bigToken)},
			tooLong("authorization token", len(bigToken), maxToken)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, s.do(t, tc.req), http.StatusBadRequest, tc.msg)
		})
	}
	// The admin inventory's query values, each.
	for _, k := range []string{"expiring-before", "expiring-after", "provisioner", "subject", "revoked", "cursor", "limit"} {
		req := listReq(t, s.env, q(k, long))
		wantError(t, s.do(t, req), http.StatusBadRequest, tooLong(k, len(long), 256))
	}
}

// TestFieldBoundsKeepUsualRequests: values at the bounds are not refused for
// their size.
func TestFieldBoundsKeepUsualRequests(t *testing.T) {
	t.Parallel()
	s := newServer(t, at.Options{})
	fp := strings.Repeat("ab", 64)
	wantError(t, s.do(t, request{method: "GET", path: "/root/" + fp}), 404,
		fmt.Sprintf("root certificate with fingerprint %q was not found", fp))
	w := s.do(t, request{method: "GET", path: "/provisioners?limit=" + strings.Repeat("0", 31) + "1&cursor=" + strings.Repeat("f", 128)})
	var v map[string]any
	decode(t, w, 200, &v)
	body := mustJSON(t, map[string]any{"csr": "x", "ott": "y", "templateData": json.RawMessage(`"` + strings.Repeat("t", api.MaxTemplateDataSize-2) + `"`)})
	wantError(t, s.do(t, request{method: "POST", path: "/sign", body: body}), 400, "The request could not be completed: invalid csr.")
}
