package e2e

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	xocsp "golang.org/x/crypto/ocsp"
)

// TestCRLAndOCSP: with "crl" and "ocsp" enabled, issued certificates name
// both; GET /crl serves a CRL openssl accepts (signature, number, IDP);
// `step ca revoke --reasonCode` reaches the CRL and the OCSP answer at
// once (generateOnRevoke); openssl ocsp and `step certificate verify
// --verify-crl/--verify-ocsp` see the certificate good, then revoked with
// its reason; `step crl inspect` reads the CRL (text and JSON) (issue 19).
func TestCRLAndOCSP(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl is not installed (make deps)")
	}
	p := initPKI(t)
	crlURL, ocspURL := p.url+"/1.0/crl", p.url+"/1.0/ocsp"
	editConfig(t, p.configPath(), func(cfg map[string]any) {
		cfg["crl"] = map[string]any{"enabled": true, "generateOnRevoke": true, "idpURL": crlURL}
		cfg["ocsp"] = map[string]any{"enabled": true, "url": ocspURL}
	})
	if r := p.op.stepCA(p.configPath(), "--validate-config"); r.code != 0 {
		t.Fatalf("config refused:\n%s", r)
	}
	p.start(t)
	u := p.client(t)
	pw := u.path("password.txt")
	root := filepath.Join(p.caPath, "certs", "root_ca.crt")
	inter := filepath.Join(p.caPath, "certs", "intermediate_ca.crt")
	chain := u.writeFile(t, "chain.pem", string(readFile(t, root))+string(readFile(t, inter)), 0o644)

	crt, key := u.path("leaf.crt"), u.path("leaf.key")
	u.ok(t, "ca", "certificate", "leaf.example.com", crt, key, "--provisioner-password-file", pw)
	leaf := readCerts(t, crt)[0]
	if len(leaf.CRLDistributionPoints) != 1 || leaf.CRLDistributionPoints[0] != crlURL || len(leaf.OCSPServer) != 1 || leaf.OCSPServer[0] != ocspURL {
		t.Fatalf("CDP %v, OCSP %v; want [%s], [%s]", leaf.CRLDistributionPoints, leaf.OCSPServer, crlURL, ocspURL)
	}
	leafOnly := u.writeFile(t, "leaf-only.crt", string(pemOf(leaf)), 0o644)

	hc := httpsClient(p)
	getCRL := func(name string) string {
		r := do(t, hc, "GET", crlURL, nil)
		if r.status != 200 || r.header.Get("Content-Type") != "application/pkix-crl" || r.header.Get("Expires") == "" {
			t.Fatalf("GET /crl: %d %v", r.status, r.header)
		}
		f := u.path(name)
		if err := os.WriteFile(f, r.body, 0o644); err != nil {
			t.Fatal(err)
		}
		return f
	}
	openssl := func(args ...string) string {
		t.Helper()
		out, err := exec.Command("openssl", args...).CombinedOutput()
		if err != nil {
			t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	before := getCRL("before.crl")
	txt := openssl("crl", "-inform", "DER", "-in", before, "-CAfile", chain, "-noout", "-text")
	for _, want := range []string{"X509v3 CRL Number", "X509v3 Authority Key Identifier", "X509v3 Issuing Distribution Point: critical", "URI:" + crlURL, "No Revoked Certificates"} {
		if !strings.Contains(txt, want) {
			t.Fatalf("openssl crl -text lacks %q:\n%s", want, txt)
		}
	}
	if out := openssl("crl", "-inform", "DER", "-in", before, "-CAfile", chain, "-noout"); !strings.Contains(out, "verify OK") {
		t.Fatalf("openssl crl does not verify the signature:\n%s", out)
	}
	ocspArgs := []string{"ocsp", "-issuer", inter, "-cert", leafOnly, "-url", ocspURL, "-CAfile", root, "-resp_text"}
	if out := openssl(ocspArgs...); !strings.Contains(out, leafOnly+": good") || !strings.Contains(out, "Response verify OK") {
		t.Fatalf("openssl ocsp before revocation:\n%s", out)
	}
	u.ok(t, "certificate", "verify", crt, "--roots", root, "--verify-crl", "--verify-ocsp")

	u.ok(t, "ca", "revoke", leaf.SerialNumber.String(), "--reasonCode", "KeyCompromise", "--reason", "key leaked", "--provisioner-password-file", pw)

	after := getCRL("after.crl")
	txt = openssl("crl", "-inform", "DER", "-in", after, "-CAfile", chain, "-noout", "-text")
	if !strings.Contains(txt, "Key Compromise") || !strings.Contains(strings.ToUpper(txt), strings.ToUpper(leaf.SerialNumber.Text(16))) {
		t.Fatalf("the CRL after revocation lacks the serial or the reason:\n%s", txt)
	}
	out := openssl(ocspArgs...)
	if !strings.Contains(out, leafOnly+": revoked") || !strings.Contains(out, "Reason: keyCompromise") || !strings.Contains(out, "Response verify OK") {
		t.Fatalf("openssl ocsp after revocation:\n%s", out)
	}
	// openssl sends a nonce by default and checks it came back.
	if strings.Contains(out, "WARNING: no nonce") || !strings.Contains(out, "OCSP Nonce") {
		t.Fatalf("nonce not echoed:\n%s", out)
	}
	r := u.fails(t, "certificate", "verify", crt, "--roots", root, "--verify-crl")
	if !strings.Contains(r.stderr, "certificate has been revoked") || !strings.Contains(r.stderr, "keyCompromise") {
		t.Fatalf("verify --verify-crl of a revoked certificate:\n%s", r)
	}
	r = u.fails(t, "certificate", "verify", crt, "--roots", root, "--verify-ocsp", "--ocsp-endpoint", ocspURL)
	if !strings.Contains(r.stderr, "certificate has been revoked") {
		t.Fatalf("verify --verify-ocsp of a revoked certificate:\n%s", r)
	}

	// GET with the request in the path: RFC 5019 caching headers.
	req, err := xocsp.CreateRequest(leaf, readCerts(t, inter)[0], nil)
	if err != nil {
		t.Fatal(err)
	}
	g := do(t, hc, "GET", ocspURL+"/"+b64url(req), nil)
	if g.status != 200 || g.header.Get("Content-Type") != "application/ocsp-response" || !strings.Contains(g.header.Get("Cache-Control"), "max-age=") ||
		g.header.Get("ETag") == "" || g.header.Get("Last-Modified") == "" || g.header.Get("Expires") == "" {
		t.Fatalf("GET /ocsp: %d %v", g.status, g.header)
	}
	if resp, err := xocsp.ParseResponseForCert(g.body, leaf, readCerts(t, inter)[0]); err != nil || resp.Status != xocsp.Revoked {
		t.Fatalf("GET /ocsp answer: %v", err)
	}

	// step crl inspect, text and JSON.
	r = u.ok(t, "crl", "inspect", after, "--ca", inter)
	for _, want := range []string{"Valid: true", "Key Compromise", leaf.SerialNumber.String(), "URI:" + crlURL} {
		if !strings.Contains(r.stdout, want) {
			t.Fatalf("step crl inspect lacks %q:\n%s", want, r)
		}
	}
	r = u.ok(t, "crl", "inspect", crlURL, "--roots", root, "--format", "json")
	var j struct {
		Number  string `json:"crl_number"`
		Revoked []struct {
			Serial string `json:"serial_number"`
			Reason string `json:"reason"`
		} `json:"revoked_certificates"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &j); err != nil || len(j.Revoked) != 1 || j.Revoked[0].Serial != leaf.SerialNumber.String() || j.Revoked[0].Reason != "Key Compromise" {
		t.Fatalf("step crl inspect --format json: %v\n%s", err, r)
	}
}

func pemOf(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

// b64url is the path form of an OCSP GET request: standard base64,
// URL-escaped.
func b64url(der []byte) string {
	return url.PathEscape(base64.StdEncoding.EncodeToString(der))
}
