package certificate

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mayfly-pki/mayfly/internal/pemutil"
)

// pki creates a root, an intermediate and a leaf with step certificate create and
// returns the directory. The root key is encrypted with password "pass".
func pki(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	p := func(name string) string { return filepath.Join(dir, name) }
	if err := os.WriteFile(p("pass"), []byte("pass\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	steps := [][]string{
		{"certificate", "create", "Test Root", p("root.crt"), p("root.key"), "--profile", "root-ca", "--password-file", p("pass")},
		{"certificate", "create", "Test Intermediate", p("int.crt"), p("int.key"), "--profile", "intermediate-ca",
			"--ca", p("root.crt"), "--ca-key", p("root.key"), "--ca-password-file", p("pass"), "--no-password", "--insecure"},
		{"certificate", "create", "leaf.example.com", p("leaf.crt"), p("leaf.key"), "--ca", p("int.crt"), "--ca-key", p("int.key"),
			"--no-password", "--insecure", "--bundle", "--san", "leaf.example.com", "--san", "127.0.0.1", "--not-after", "2h"},
	}
	for _, args := range steps {
		if r := run(t, args...); r.Code != 0 {
			t.Fatalf("%q: exit %d: %s", args, r.Code, r.Stderr)
		}
	}
	return dir
}

func readCert(t *testing.T, path string) []*x509.Certificate {
	t.Helper()
	certs, err := pemutil.ReadCertificates(path)
	if err != nil {
		t.Fatal(err)
	}
	return certs
}

func TestCreateProfiles(t *testing.T) {
	t.Setenv("STEPPATH", t.TempDir())
	dir := pki(t)
	p := func(name string) string { return filepath.Join(dir, name) }

	root := readCert(t, p("root.crt"))[0]
	if !root.IsCA || root.MaxPathLen != 1 || root.KeyUsage != x509.KeyUsageCertSign|x509.KeyUsageCRLSign || root.Subject.CommonName != "Test Root" {
		t.Fatalf("root: CA=%v pathlen=%d ku=%v cn=%q", root.IsCA, root.MaxPathLen, root.KeyUsage, root.Subject.CommonName)
	}
	if d := root.NotAfter.Sub(root.NotBefore); d < 3649*24*time.Hour {
		t.Fatalf("root validity %v, want ~10y", d)
	}
	inter := readCert(t, p("int.crt"))[0]
	if !inter.IsCA || inter.MaxPathLen != 0 || !inter.MaxPathLenZero || inter.CheckSignatureFrom(root) != nil {
		t.Fatalf("intermediate: CA=%v pathlen=%d, signed by root: %v", inter.IsCA, inter.MaxPathLen, inter.CheckSignatureFrom(root))
	}
	leafs := readCert(t, p("leaf.crt"))
	if len(leafs) != 2 || !leafs[1].Equal(inter) {
		t.Fatalf("--bundle: got %d certificates", len(leafs))
	}
	leaf := leafs[0]
	if leaf.IsCA || len(leaf.DNSNames) != 1 || len(leaf.IPAddresses) != 1 || len(leaf.ExtKeyUsage) != 2 ||
		leaf.KeyUsage != x509.KeyUsageDigitalSignature || leaf.NotAfter.Sub(leaf.NotBefore) > 2*time.Hour+time.Second {
		t.Fatalf("leaf: %v %v %v ku=%v validity=%v", leaf.DNSNames, leaf.IPAddresses, leaf.ExtKeyUsage, leaf.KeyUsage, leaf.NotAfter.Sub(leaf.NotBefore))
	}

	// Key files: 0600, encrypted root key in step's legacy flavour, plain leaf key.
	for _, f := range []string{"root.key", "int.key", "leaf.key", "leaf.crt"} {
		st, err := os.Stat(p(f))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("%s: mode %v, %v", f, st.Mode().Perm(), err)
		}
	}
	rootKey, _ := os.ReadFile(p("root.key"))
	if !strings.Contains(string(rootKey), "Proc-Type: 4,ENCRYPTED") || !strings.Contains(string(rootKey), "DEK-Info: AES-256-CBC,") {
		t.Fatalf("root key is not legacy-encrypted:\n%s", rootKey)
	}
	if _, err := pemutil.ParsePrivateKey(rootKey, []byte("pass")); err != nil {
		t.Fatalf("root key does not decrypt: %v", err)
	}

	// verify: silent success, step's failure line and exit 1.
	tests := []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"certificate", "verify", p("leaf.crt"), "--roots", p("root.crt")}, 0, ""},
		{[]string{"certificate", "verify", p("leaf.crt"), "--roots", p("root.crt"), "--host", "leaf.example.com"}, 0, ""},
		{[]string{"certificate", "verify", p("leaf.crt"), "--roots", p("root.crt"), "--host", "other.example.com"}, 1,
			"failed to verify certificate: x509: certificate is valid for leaf.example.com, not other.example.com\n"},
		{[]string{"certificate", "verify", p("leaf.crt"), "--roots", p("int.crt")}, 0, ""},
		{[]string{"certificate", "verify", p("leaf.crt")}, 1, "failed to verify certificate: x509: certificate signed by unknown authority\n"},
		{[]string{"certificate", "verify", p("root.crt"), "--roots", p("leaf.crt")}, 1, "failed to verify certificate: x509: certificate signed by unknown authority\n"},
	}
	for _, tt := range tests {
		r := run(t, tt.args...)
		if r.Code != tt.code || r.Stderr != tt.stderr || r.Stdout != "" {
			t.Errorf("%q: exit %d stderr %q, want %d %q", tt.args[2:], r.Code, r.Stderr, tt.code, tt.stderr)
		}
	}

	// openssl agrees on the chain, when installed.
	if _, err := exec.LookPath("openssl"); err == nil {
		out, err := exec.Command("openssl", "verify", "-CAfile", p("root.crt"), "-untrusted", p("int.crt"), p("leaf.crt")).CombinedOutput()
		if err != nil {
			t.Fatalf("openssl verify: %v: %s", err, out)
		}
	}
}

func TestCreateKeyTypesAndCSR(t *testing.T) {
	t.Setenv("STEPPATH", t.TempDir())
	dir := t.TempDir()
	p := func(name string) string { return filepath.Join(dir, name) }
	tests := []struct {
		kty  []string
		want string
	}{
		{[]string{"--kty", "EC", "--curve", "P-384"}, "ecdsa"},
		{[]string{"--kty", "RSA", "--size", "2048"}, "rsa"},
		{[]string{"--kty", "OKP", "--curve", "Ed25519"}, "ed25519"},
	}
	for i, tt := range tests {
		crt, key := p(tt.want+".crt"), p(tt.want+".key")
		args := append([]string{"certificate", "create", "self.example.com", crt, key, "--profile", "self-signed", "--subtle", "--no-password", "--insecure"}, tt.kty...)
		if r := run(t, args...); r.Code != 0 {
			t.Fatalf("%d: exit %d %s", i, r.Code, r.Stderr)
		}
		c := readCert(t, crt)[0]
		var ok bool
		switch tt.want {
		case "ecdsa":
			_, ok = c.PublicKey.(*ecdsa.PublicKey)
		case "rsa":
			_, ok = c.PublicKey.(*rsa.PublicKey)
			ok = ok && c.KeyUsage&x509.KeyUsageKeyEncipherment != 0
		case "ed25519":
			_, ok = c.PublicKey.(ed25519.PublicKey)
		}
		if selfErr := c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature); !ok || selfErr != nil || c.DNSNames[0] != "self.example.com" {
			t.Fatalf("%s: key %T, self-signed: %v", tt.want, c.PublicKey, selfErr)
		}
	}

	// --csr, then sign it with a CA made from an existing key (--key).
	if r := run(t, "certificate", "create", "csr.example.com", p("req.csr"), p("req.key"), "--csr", "--no-password", "--insecure", "--san", "a.example.com"); r.Code != 0 {
		t.Fatalf("--csr: %s", r.Stderr)
	}
	csrPEM, _ := os.ReadFile(p("req.csr"))
	csr, err := pemutil.ParseCSR(csrPEM)
	if err != nil || csr.Subject.CommonName != "csr.example.com" || csr.DNSNames[0] != "a.example.com" || !strings.HasPrefix(string(csrPEM), "-----BEGIN CERTIFICATE REQUEST-----") {
		t.Fatalf("CSR: %v %+v", err, csr)
	}
	if r := run(t, "certificate", "create", "CA", p("ca.crt"), "--key", p("ecdsa.key"), "--profile", "root-ca"); r.Code != 0 {
		t.Fatalf("--key: %s", r.Stderr)
	}
	r := run(t, "certificate", "sign", p("req.csr"), p("ca.crt"), p("ecdsa.key"), "--bundle", "--not-after", "1h")
	if r.Code != 0 {
		t.Fatalf("sign: %s", r.Stderr)
	}
	signed, err := pemutil.ParseCertificates([]byte(r.Stdout))
	if err != nil || len(signed) != 2 || signed[0].Subject.CommonName != "csr.example.com" || signed[0].DNSNames[0] != "a.example.com" ||
		signed[0].CheckSignatureFrom(signed[1]) != nil {
		t.Fatalf("signed: %v %d", err, len(signed))
	}
	// sign with the wrong key for the CA certificate fails.
	if r := run(t, "certificate", "sign", p("req.csr"), p("ca.crt"), p("rsa.key")); r.Code != 1 || !strings.Contains(r.Stderr, "does not match") {
		t.Fatalf("mismatched CA key: exit %d %q", r.Code, r.Stderr)
	}
}

func TestCreateErrorsWriteNothing(t *testing.T) {
	t.Setenv("STEPPATH", t.TempDir())
	dir := pki(t)
	p := func(name string) string { return filepath.Join(dir, name) }
	if err := os.WriteFile(p("wrong"), []byte("wrong\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"wrong CA password", []string{"--profile", "intermediate-ca", "--ca", p("root.crt"), "--ca-key", p("root.key"), "--ca-password-file", p("wrong")}, "root.key"},
		{"CA key is not a key", []string{"--ca", p("int.crt"), "--ca-key", p("int.crt")}, "int.crt"},
		{"leaf without CA", nil, "'--ca'"},
		{"no-password without insecure", []string{"--profile", "root-ca", "--no-password"}, "--insecure"},
		{"no password in batch mode", []string{"--profile", "root-ca"}, "--password-file"},
		{"self-signed without subtle", []string{"--profile", "self-signed", "--no-password", "--insecure"}, "--subtle"},
		{"bad profile", []string{"--profile", "nope", "--no-password", "--insecure"}, "--profile"},
		{"bad curve", []string{"--profile", "root-ca", "--no-password", "--insecure", "--curve", "P-999"}, "--curve"},
		{"bad not-after", []string{"--profile", "root-ca", "--no-password", "--insecure", "--not-after", "tomorrow"}, "--not-after"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			crt, key := p("new.crt"), p("new.key")
			args := append([]string{"certificate", "create", "new", crt, key, "--password-file", p("pass")}, tt.args...)
			if strings.Contains(tt.name, "no-password") || strings.Contains(tt.name, "batch") || tt.name == "self-signed without subtle" ||
				tt.name == "bad profile" || tt.name == "bad curve" || tt.name == "bad not-after" {
				args = append([]string{"certificate", "create", "new", crt, key}, tt.args...)
			}
			r := run(t, args...)
			if r.Code != 1 || !strings.Contains(r.Stderr, tt.want) {
				t.Fatalf("exit %d stderr %q, want 1 and %q", r.Code, r.Stderr, tt.want)
			}
			for _, f := range []string{crt, key} {
				if _, err := os.Stat(f); err == nil {
					t.Fatalf("%s was written", f)
				}
			}
		})
	}
	// Existing files are not overwritten without --force.
	before, _ := os.ReadFile(p("leaf.crt"))
	r := run(t, "certificate", "create", "x", p("leaf.crt"), p("x.key"), "--profile", "root-ca", "--no-password", "--insecure")
	after, _ := os.ReadFile(p("leaf.crt"))
	if r.Code != 1 || !strings.Contains(r.Stderr, "already exists") || string(before) != string(after) {
		t.Fatalf("overwrite without --force: exit %d %q", r.Code, r.Stderr)
	}
	if r := run(t, "certificate", "create", "x", p("leaf.crt"), p("x.key"), "--profile", "root-ca", "--no-password", "--insecure", "-f"); r.Code != 0 {
		t.Fatalf("--force: %s", r.Stderr)
	}
}

// TestCreateSANWithComma: --san takes its value whole, as step does: a
// comma is part of the name, not a separator.
func TestCreateSANWithComma(t *testing.T) {
	t.Setenv("STEPPATH", t.TempDir())
	dir := t.TempDir()
	crt := filepath.Join(dir, "c.crt")
	if r := run(t, "certificate", "create", "c.example.com", crt, filepath.Join(dir, "c.key"), "--profile", "self-signed", "--subtle",
		"--no-password", "--insecure", "--san", "a.example.com,b.example.com", "--san", "c.example.com"); r.Code != 0 {
		t.Fatalf("exit %d: %s", r.Code, r.Stderr)
	}
	got := readCert(t, crt)[0].DNSNames
	if len(got) != 2 || got[0] != "a.example.com,b.example.com" || got[1] != "c.example.com" {
		t.Fatalf("DNS names = %q, want [a.example.com,b.example.com c.example.com]", got)
	}
}
