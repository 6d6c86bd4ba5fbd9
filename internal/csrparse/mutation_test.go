package csrparse

import (
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"net"
	"net/url"
	"testing"
)

// mutationCorpus returns a few valid requests of different shapes whose
// every prefix and single-byte mutation is compared.
func mutationCorpus(t testing.TB) map[string][]byte {
	t.Helper()
	tmpl := &x509.CertificateRequest{
		Subject:        pkix.Name{CommonName: "mut.example.com", Organization: []string{"Example"}},
		DNSNames:       []string{"mut.example.com"},
		EmailAddresses: []string{"a@example.com"},
		IPAddresses:    []net.IP{net.ParseIP("192.0.2.1"), net.ParseIP("2001:db8::1")},
		URIs:           []*url.URL{mustURL("spiffe://example.org/mut")},
		ExtraExtensions: []pkix.Extension{
			{Id: asn1.ObjectIdentifier{2, 5, 29, 15}, Critical: true, Value: []byte{0x03, 0x02, 0x05, 0xa0}},
		},
	}
	goP256, err := x509.CreateCertificateRequest(rand.Reader, tmpl, keyNamed("p256"))
	if err != nil {
		t.Fatal(err)
	}
	corpus := map[string][]byte{"go-p256": goP256}

	openssl := readPEMs(t, "openssl-*.pem")
	for _, name := range []string{"openssl-rsa-attrs.pem", "openssl-ed25519.pem", "openssl-bmpstring.pem", "openssl-multivalue-rdn.pem"} {
		corpus[name] = openssl[name]
	}

	for _, v := range handVariants() {
		if v.name == "subject-t61-latin1" {
			p := baseParts()
			v.modify(&p)
			corpus["hand-t61"] = p.der()
		}
	}
	return corpus
}

// TestTruncated compares every proper prefix of each corpus request.
func TestTruncated(t *testing.T) {
	for name, der := range mutationCorpus(t) {
		t.Run(name, func(t *testing.T) {
			for i := range der {
				if checkEquivalent(t, der[:i:i]) {
					t.Fatalf("fast path accepted a %d-byte prefix", i)
				}
			}
		})
	}
}

// TestSingleByteMutations compares every request that differs from a corpus
// request in exactly one byte: all 255 other values, or a sample of them in
// -short mode and for the large RSA request (its bytes are mostly modulus
// and signature, where all values behave alike).
func TestSingleByteMutations(t *testing.T) {
	values := func(name string, orig byte) []byte {
		if testing.Short() || name == "openssl-rsa-attrs.pem" {
			return []byte{orig ^ 0x01, orig ^ 0x80, orig ^ 0xff, orig + 1, orig - 1, 0x00, 0x80}
		}
		all := make([]byte, 0, 255)
		for v := range 256 {
			if byte(v) != orig {
				all = append(all, byte(v))
			}
		}
		return all
	}
	for name, der := range mutationCorpus(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			mutated := make([]byte, len(der))
			total, fast := 0, 0
			for i := range der {
				for _, v := range values(name, der[i]) {
					copy(mutated, der)
					mutated[i] = v
					total++
					if checkEquivalent(t, mutated) {
						fast++
						checkAliasing(t, mutated)
					}
				}
			}
			t.Logf("%d mutations, %d took the fast path", total, fast)
		})
	}
}
