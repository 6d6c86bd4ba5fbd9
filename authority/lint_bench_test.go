package authority

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"
)

// BenchmarkLint is the CPU cost per certificate of linting step's default
// leaf before signing (building it under the throwaway key, parsing it
// with zcrypto, running the lints), with the default set (RFC 5280) and
// with RFC 5280 and the CA/B Forum's baseline requirements.
//
//	go test ./authority -run - -bench Lint
func BenchmarkLint(b *testing.B) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	now := time.Now()
	issuerTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Bench Intermediate"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour * 24 * 365), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, SubjectKeyId: []byte{1, 2, 3}}
	der, _ := x509.CreateCertificate(rand.Reader, issuerTmpl, issuerTmpl, key.Public(), key)
	issuer, _ := x509.ParseCertificate(der)
	leafKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf := &x509.Certificate{Subject: pkix.Name{CommonName: "bench.example.com"}, DNSNames: []string{"bench.example.com"},
		NotBefore: now, NotAfter: now.Add(24 * time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}, SubjectKeyId: []byte{4, 5, 6}}
	for _, tc := range []struct {
		name  string
		lints []string
	}{{"RFC5280", nil}, {"RFC5280+CABF_BR", []string{"RFC5280", "CABF_BR"}}} {
		b.Run(tc.name, func(b *testing.B) {
			l, err := newLinter(&LintOptions{Enabled: true, Lints: tc.lints}, issuer, key)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := l.check("bench", leaf, leafKey.Public()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
