package pki

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/x509"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/mayfly-pki/mayfly/internal/keyutil"
)

func TestNewRootAndIntermediateKeyTypes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		kty, crv string
		size     int
		want     x509.SignatureAlgorithm
	}{
		{"EC", "P-256", 0, x509.ECDSAWithSHA256},
		{"EC", "P-521", 0, x509.ECDSAWithSHA512},
		{"RSA", "", 2048, x509.SHA256WithRSA},
		{"OKP", "Ed25519", 0, x509.PureEd25519},
	}
	for _, tt := range tests {
		t.Run(tt.kty+tt.crv, func(t *testing.T) {
			t.Parallel()
			rootKey, err := keyutil.Generate(tt.kty, tt.crv, tt.size)
			if err != nil {
				t.Fatal(err)
			}
			opts := CertOptions{Name: "K", NotBefore: fixedNow, Validity: time.Hour}
			root, err := NewRoot(rootKey, opts)
			if err != nil {
				t.Fatalf("NewRoot: %v", err)
			}
			if root.SignatureAlgorithm != tt.want {
				t.Fatalf("root signed with %v, want %v", root.SignatureAlgorithm, tt.want)
			}
			if !root.NotAfter.Equal(fixedNow.Truncate(time.Second).Add(time.Hour)) {
				t.Fatalf("NotAfter %v with Validity 1h", root.NotAfter)
			}
			interKey, err := keyutil.Generate("EC", "P-256", 0)
			if err != nil {
				t.Fatal(err)
			}
			inter, err := NewIntermediate(interKey.Public(), CA{Certificate: root, Signer: rootKey}, opts)
			if err != nil {
				t.Fatalf("NewIntermediate: %v", err)
			}
			if inter.SignatureAlgorithm != tt.want {
				t.Fatalf("intermediate signed with %v, want the root key's %v", inter.SignatureAlgorithm, tt.want)
			}
			if err := inter.CheckSignatureFrom(root); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestNewIntermediateRootWithoutSKI: a root without SubjectKeyId (made by
// another tool) still yields an AKI, computed the same way.
func TestNewIntermediateRootWithoutSKI(t *testing.T) {
	t.Parallel()
	key, err := keyutil.Generate("EC", "P-256", 0)
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := caTemplate(key.Public(), CertOptions{Name: "NoSKI", NotBefore: fixedNow}, "NoSKI Root", 1)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	root, _ := x509.ParseCertificate(der)
	root.SubjectKeyId = nil // as if the extension were absent
	inter, err := NewIntermediate(key.Public(), CA{Certificate: root, Signer: key}, CertOptions{Name: "NoSKI", NotBefore: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := subjectKeyID(key.Public())
	if !bytes.Equal(inter.AuthorityKeyId, want) {
		t.Fatalf("AKI %x, want %x", inter.AuthorityKeyId, want)
	}
}

// TestOpenSSLReadsThePKI checks the files with OpenSSL: the chain verifies,
// the profile reads as step's, and the legacy-encrypted keys decrypt.
func TestOpenSSLReadsThePKI(t *testing.T) {
	t.Parallel()
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not installed")
	}
	dir := t.TempDir()
	o := pkiOnly()
	o.Clock = time.Now
	if _, err := Init(context.Background(), dir, o); err != nil {
		t.Fatal(err)
	}
	l := NewLayout(dir)
	run := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(openssl, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	if out := run("verify", "-CAfile", l.RootCert, l.IntermediateCert); !strings.Contains(out, ": OK") {
		t.Fatalf("openssl verify: %s", out)
	}
	text := run("x509", "-noout", "-text", "-in", l.IntermediateCert)
	for _, want := range []string{"CA:TRUE, pathlen:0", "Certificate Sign, CRL Sign", "Authority Key Identifier", "Subject: O = Test CA, CN = Test CA Intermediate CA"} {
		if !strings.Contains(text, want) {
			t.Fatalf("openssl x509 -text lacks %q:\n%s", want, text)
		}
	}
	pass := dir + "/pass"
	if err := os.WriteFile(pass, o.Password, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{l.RootKey, l.IntermediateKey} {
		run("pkey", "-noout", "-in", k, "-passin", "file:"+pass)
	}
}
