package certificate

import (
	"crypto/sha1" //nolint:gosec // test of --sha1
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	pkcs12 "software.sslmate.com/src/go-pkcs12"

	"github.com/mayfly-pki/mayfly/internal/keyutil"
	"github.com/mayfly-pki/mayfly/internal/pemutil"
)

func TestNeedsRenewal(t *testing.T) {
	t.Setenv("STEPPATH", t.TempDir())
	dir := pki(t) // leaf.crt lives 2h (bundle with the 10y intermediate)
	p := func(name string) string { return filepath.Join(dir, name) }
	tests := []struct {
		args []string
		code int
	}{
		{[]string{p("int.crt")}, 1},                         // fresh 10y cert, default 66%
		{[]string{p("int.crt"), "--expires-in", "0%"}, 0},   // 0% used >= 0
		{[]string{p("int.crt"), "--expires-in", "100%"}, 1}, // not fully used
		{[]string{p("root.crt"), "--expires-in", "87600h"}, 0},
		{[]string{p("root.crt"), "--expires-in", "1h"}, 1},
		{[]string{p("leaf.crt"), "--expires-in", "3h"}, 0}, // the 2h leaf expires within 3h
		{[]string{p("leaf.crt"), "--expires-in", "1h"}, 1},
		{[]string{p("missing.crt")}, 2},
		{[]string{p("int.crt"), "--expires-in", "101%"}, 255},
		{[]string{p("int.crt"), "--expires-in", "soon"}, 255},
		{[]string{p("pass")}, 255},
		{nil, 255},
	}
	for _, tt := range tests {
		r := run(t, append([]string{"certificate", "needs-renewal"}, tt.args...)...)
		if r.Code != tt.code {
			t.Errorf("needs-renewal %q: exit %d (%q), want %d", tt.args, r.Code, r.Stderr, tt.code)
		}
	}
}

func TestFingerprint(t *testing.T) {
	t.Setenv("STEPPATH", t.TempDir())
	certs, err := pemutil.ReadCertificates("testdata/bundle.crt")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(certs[0].Raw)
	s1 := sha1.Sum(certs[0].Raw) //nolint:gosec // test
	tests := []struct {
		args []string
		want string
		code int
	}{
		{nil, hex.EncodeToString(sum[:]) + "\n", 0},
		{[]string{"--format", "base64"}, base64.StdEncoding.EncodeToString(sum[:]) + "\n", 0},
		{[]string{"--format", "base64-url"}, base64.URLEncoding.EncodeToString(sum[:]) + "\n", 0},
		{[]string{"--format", "base64-raw"}, base64.RawStdEncoding.EncodeToString(sum[:]) + "\n", 0},
		{[]string{"--format", "base64-url-raw"}, base64.RawURLEncoding.EncodeToString(sum[:]) + "\n", 0},
		{[]string{"--sha1", "--insecure"}, hex.EncodeToString(s1[:]) + "\n", 0},
		{[]string{"--bundle"}, hex.EncodeToString(sum[:]) + "\n" + pemutil.Fingerprint(certs[1]) + "\n", 0},
		{[]string{"--sha1"}, "", 1},
		{[]string{"--format", "nope"}, "", 1},
	}
	for _, tt := range tests {
		r := run(t, append([]string{"certificate", "fingerprint", "testdata/bundle.crt"}, tt.args...)...)
		if r.Code != tt.code || r.Stdout != tt.want {
			t.Errorf("fingerprint %q: exit %d %q %q, want %d %q", tt.args, r.Code, r.Stdout, r.Stderr, tt.code, tt.want)
		}
	}
}

func TestBundleAndKey(t *testing.T) {
	t.Setenv("STEPPATH", t.TempDir())
	dir := t.TempDir()
	out := filepath.Join(dir, "b.crt")
	if r := run(t, "certificate", "bundle", "testdata/leaf.crt", "testdata/ca.crt", out); r.Code != 0 {
		t.Fatalf("bundle: %s", r.Stderr)
	}
	got, _ := os.ReadFile(out)
	want, _ := os.ReadFile("testdata/bundle.crt")
	if string(got) != string(want) {
		t.Fatalf("bundle output differs from leaf+ca")
	}
	if r := run(t, "certificate", "bundle", "testdata/leaf.crt", "testdata/ca.crt", out); r.Code != 1 || !strings.Contains(r.Stderr, "already exists") {
		t.Fatalf("bundle overwrite: exit %d %q", r.Code, r.Stderr)
	}

	certs, _ := pemutil.ReadCertificates("testdata/leaf.crt")
	r := run(t, "certificate", "key", "testdata/leaf.crt")
	pub, err := pemutil.ParsePublicKey([]byte(r.Stdout))
	if r.Code != 0 || err != nil || !strings.HasPrefix(r.Stdout, "-----BEGIN PUBLIC KEY-----") {
		t.Fatalf("key: exit %d %v", r.Code, err)
	}
	if r2 := run(t, "certificate", "key", "testdata/leaf.csr"); r2.Stdout != r.Stdout {
		t.Fatalf("key of the CSR differs from the key of the certificate")
	}
	if !keyutil.Equal(pub, certs[0].PublicKey) {
		t.Fatalf("key: printed key is not the certificate's")
	}
}

func TestP12(t *testing.T) {
	t.Setenv("STEPPATH", t.TempDir())
	dir := pki(t)
	p := func(name string) string { return filepath.Join(dir, name) }
	out := p("leaf.p12")
	if r := run(t, "certificate", "p12", out, p("leaf.crt"), p("leaf.key"), "--password-file", p("pass")); r.Code != 0 {
		t.Fatalf("p12: %s", r.Stderr)
	}
	der, _ := os.ReadFile(out)
	key, crt, cas, err := pkcs12.DecodeChain(der, "pass")
	if err != nil || crt.Subject.CommonName != "leaf.example.com" || len(cas) != 1 || key == nil {
		t.Fatalf("decode: %v %d", err, len(cas))
	}
	if _, err := exec.LookPath("openssl"); err == nil {
		if o, err := exec.Command("openssl", "pkcs12", "-in", out, "-passin", "pass:pass", "-nokeys", "-noout").CombinedOutput(); err != nil {
			t.Fatalf("openssl pkcs12: %v %s", err, o)
		}
	}
	trust := p("trust.p12")
	if r := run(t, "certificate", "p12", trust, "--ca", p("root.crt"), "--no-password", "--insecure"); r.Code != 0 {
		t.Fatalf("trust store: %s", r.Stderr)
	}
	der, _ = os.ReadFile(trust)
	if certs, err := pkcs12.DecodeTrustStore(der, ""); err != nil || len(certs) != 1 {
		t.Fatalf("trust store decode: %v", err)
	}
	if r := run(t, "certificate", "p12", p("bad.p12"), p("leaf.crt"), p("int.key"), "--password-file", p("pass")); r.Code != 1 || !strings.Contains(r.Stderr, "does not match") {
		t.Fatalf("mismatched key: exit %d %q", r.Code, r.Stderr)
	}
	if _, err := os.Stat(p("bad.p12")); err == nil {
		t.Fatalf("bad.p12 was written")
	}
}

func TestLint(t *testing.T) {
	t.Setenv("STEPPATH", t.TempDir())
	r := run(t, "certificate", "lint", "testdata/leaf.crt")
	var res struct {
		Lints map[string]struct {
			Result string `json:"result"`
		} `json:"lints"`
		ErrorsPresent bool `json:"errors_present"`
	}
	if r.Code != 0 || json.Unmarshal([]byte(r.Stdout), &res) != nil {
		t.Fatalf("lint: exit %d %q", r.Code, r.Stderr)
	}
	if len(res.Lints) < 20 || res.ErrorsPresent {
		t.Fatalf("lint: %d lints, errors %v", len(res.Lints), res.ErrorsPresent)
	}
	for name := range res.Lints {
		if strings.HasPrefix(name, "e_cab_") || strings.HasPrefix(name, "w_cab_") {
			t.Fatalf("CA/B lint %s ran without --all", name)
		}
	}
	all := run(t, "certificate", "lint", "testdata/leaf.crt", "--all")
	if all.Code != 0 || len(all.Stdout) <= len(r.Stdout) {
		t.Fatalf("--all did not run more lints")
	}
}
