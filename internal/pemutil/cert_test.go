package pemutil

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Fingerprint of testdata/cert_ec256.pem from `openssl x509 -noout -fingerprint -sha256`.
const certEC256Fingerprint = "567bc02624b8922629ff047470f43e4319a2012e20998f4720b5bcef5c0eaf5c"

func TestParseCertificates(t *testing.T) {
	t.Parallel()
	ec := readFixture(t, "cert_ec256.pem")
	rsaCert := readFixture(t, "cert_rsa.pem")
	der := mustDecodePEM(t, ec).Bytes
	tests := []struct {
		name  string
		data  []byte
		wantN []string // subject CNs in order
	}{
		{"one PEM", ec, []string{"Mayfly Test Root"}},
		{"bundle keeps order", append(append([]byte{}, rsaCert...), ec...), []string{"Mayfly Test RSA", "Mayfly Test Root"}},
		{"DER", der, []string{"Mayfly Test Root"}},
		{"skips keys and text", append(append([]byte("text\n"), readFixture(t, "ec_p256_sec1.pem")...), ec...), []string{"Mayfly Test Root"}},
	}
	for _, tt := range tests {
		certs, err := ParseCertificates(tt.data)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if len(certs) != len(tt.wantN) {
			t.Fatalf("%s: %d certs, want %d", tt.name, len(certs), len(tt.wantN))
		}
		for i, c := range certs {
			if c.Subject.CommonName != tt.wantN[i] {
				t.Fatalf("%s: cert %d CN %q, want %q", tt.name, i, c.Subject.CommonName, tt.wantN[i])
			}
		}
	}
}

func TestParseCertificatesErrors(t *testing.T) {
	t.Parallel()
	ec := readFixture(t, "cert_ec256.pem")
	bad := pem.EncodeToMemory(&pem.Block{Type: TypeCertificate, Bytes: []byte{0x30, 0x00}})
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"text", []byte("hello")},
		{"key only", readFixture(t, "ec_p256_sec1.pem")},
		{"truncated", ec[:len(ec)/2]},
		{"bad second cert", append(append([]byte{}, ec...), bad...)},
	}
	for _, tt := range tests {
		if _, err := ParseCertificates(tt.data); !errors.Is(err, ErrMalformed) {
			t.Fatalf("%s: err = %v, want ErrMalformed", tt.name, err)
		}
	}
}

func TestReadCertificates(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := filepath.Join(dir, "good.crt")
	bad := filepath.Join(dir, "bad.crt")
	missing := filepath.Join(dir, "missing.crt")
	if err := os.WriteFile(good, readFixture(t, "cert_ec256.pem"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if certs, err := ReadCertificates(good); err != nil || len(certs) != 1 {
		t.Fatalf("ReadCertificates(good) = %d, %v", len(certs), err)
	}
	for _, p := range []string{bad, missing} {
		_, err := ReadCertificates(p)
		if err == nil || !strings.Contains(err.Error(), p) {
			t.Fatalf("ReadCertificates(%s): err = %v, want one naming the file", p, err)
		}
	}
	if _, err := ReadCertificates(missing); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: err = %v, want ErrNotExist", err)
	}
}

func TestEncodeCertificateAndFingerprint(t *testing.T) {
	t.Parallel()
	fixture := readFixture(t, "cert_ec256.pem")
	certs, err := ParseCertificates(fixture)
	if err != nil {
		t.Fatal(err)
	}
	c := certs[0]
	if got := Fingerprint(c); got != certEC256Fingerprint {
		t.Fatalf("Fingerprint = %s, want %s", got, certEC256Fingerprint)
	}
	enc := EncodeCertificate(c)
	if !bytes.Equal(enc, fixture) {
		t.Fatalf("EncodeCertificate differs from openssl's PEM:\n%s", enc)
	}
	lines := strings.Split(strings.TrimSuffix(string(enc), "\n"), "\n")
	for _, l := range lines[1 : len(lines)-1] {
		if len(l) > 64 {
			t.Fatalf("line longer than 64 columns: %q", l)
		}
	}
	if !bytes.HasSuffix(enc, []byte("-----END CERTIFICATE-----\n")) {
		t.Fatalf("missing trailing newline")
	}
	rsaCerts, err := ParseCertificates(readFixture(t, "cert_rsa.pem"))
	if err != nil {
		t.Fatal(err)
	}
	bundle := EncodeCertificates(c, rsaCerts[0])
	if want := append(append([]byte{}, fixture...), readFixture(t, "cert_rsa.pem")...); !bytes.Equal(bundle, want) {
		t.Fatalf("EncodeCertificates is not the concatenation")
	}
	if len(EncodeCertificates()) != 0 {
		t.Fatalf("EncodeCertificates() not empty")
	}
}

func TestParseCSR(t *testing.T) {
	t.Parallel()
	fixture := readFixture(t, "csr_ec256.pem")
	der := mustDecodePEM(t, fixture).Bytes
	// Corrupt the last signature byte: ParseCSR must still parse it.
	badSig := append([]byte{}, der...)
	badSig[len(badSig)-1] ^= 0xff
	tests := []struct {
		name string
		data []byte
	}{
		{"PEM", fixture},
		{"NEW CERTIFICATE REQUEST", pem.EncodeToMemory(&pem.Block{Type: TypeNewCertRequest, Bytes: der})},
		{"DER", der},
		{"EncodeCSR", EncodeCSR(der)},
		{"bad signature", EncodeCSR(badSig)},
		{"after a key", append(readFixture(t, "ec_p256_sec1.pem"), fixture...)},
	}
	for _, tt := range tests {
		csr, err := ParseCSR(tt.data)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if csr.Subject.CommonName != "csr.example" {
			t.Fatalf("%s: CN %q", tt.name, csr.Subject.CommonName)
		}
	}
	if csr, _ := ParseCSR(EncodeCSR(badSig)); csr.CheckSignature() == nil {
		t.Fatalf("corrupted signature verified: test is broken")
	}
	if !bytes.Equal(EncodeCSR(der), fixture) {
		t.Fatalf("EncodeCSR differs from openssl's PEM")
	}
	for _, bad := range [][]byte{nil, []byte("x"), fixture[:40], readFixture(t, "cert_ec256.pem"), EncodeCSR([]byte{0x30, 0x01, 0x00})} {
		if _, err := ParseCSR(bad); !errors.Is(err, ErrMalformed) {
			t.Fatalf("ParseCSR(%.20q): err = %v, want ErrMalformed", bad, err)
		}
	}
}

// A certificate made by crypto/x509 round-trips through Encode/Parse.
func TestCertificateRoundTrip(t *testing.T) {
	t.Parallel()
	key := fixtureKey(t, "ec_p256_sec1.pem").(*ecdsa.PrivateKey)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(42),
		Subject:      pkix.Name{CommonName: "round trip"},
		NotBefore:    time.Unix(1_700_000_000, 0),
		NotAfter:     time.Unix(1_800_000_000, 0),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseCertificates(EncodeCertificate(c))
	if err != nil || len(got) != 1 || !got[0].Equal(c) {
		t.Fatalf("round trip failed: %v", err)
	}
}
