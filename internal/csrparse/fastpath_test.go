package csrparse

import (
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"net"
	"net/url"
	"sync"
	"testing"
)

// TestFastPathTaken guards the optimisation itself: the request shapes Go
// clients (step, x509.CreateCertificateRequest) send must not fall back.
func TestFastPathTaken(t *testing.T) {
	names := []struct {
		name string
		tmpl x509.CertificateRequest
	}{
		{"dns", x509.CertificateRequest{DNSNames: []string{"host.example.com", "www.example.com"}}},
		{"ip", x509.CertificateRequest{IPAddresses: []net.IP{net.ParseIP("192.0.2.7"), net.ParseIP("2001:db8::7")}}},
		{"email", x509.CertificateRequest{EmailAddresses: []string{"jane@example.com"}}},
		{"uri", x509.CertificateRequest{URIs: []*url.URL{mustURL("spiffe://example.org/ns/prod/sa/api")}}},
		{"all", x509.CertificateRequest{
			DNSNames:       []string{"host.example.com"},
			IPAddresses:    []net.IP{net.ParseIP("10.0.0.1")},
			EmailAddresses: []string{"jane@example.com"},
			URIs:           []*url.URL{mustURL("https://host.example.com:8443/x")},
		}},
	}
	for _, key := range []string{"p256", "p384", "p521", "ed25519", "rsa2048"} {
		for _, n := range names {
			tmpl := n.tmpl
			tmpl.Subject = pkix.Name{CommonName: "host.example.com"}
			der, err := x509.CreateCertificateRequest(rand.Reader, &tmpl, keyNamed(key))
			if err != nil {
				t.Fatal(err)
			}
			if !checkEquivalent(t, der) {
				t.Errorf("%s/%s: fast path not taken", key, n.name)
			}
		}
	}
	if !checkEquivalent(t, typicalCSR()) {
		t.Error("benchmark request: fast path not taken")
	}
}

// typicalCSR is what most clients of the CA send: a P-256 key, a common
// name and the same name as the only DNS SAN.
var typicalCSR = sync.OnceValue(func() []byte {
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject:  pkix.Name{CommonName: "host.example.com"},
		DNSNames: []string{"host.example.com"},
	}, keyNamed("p256"))
	if err != nil {
		panic(err)
	}
	return der
})

func BenchmarkParse(b *testing.B) {
	der := typicalCSR()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(der); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkStdlib(b *testing.B) {
	der := typicalCSR()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := x509.ParseCertificateRequest(der); err != nil {
			b.Fatal(err)
		}
	}
}
