// Package authoritytest builds the fixtures the authority and API tests share:
// a fake clock, a root and intermediate (ECDSA P-256), a JWK provisioner with
// its private key, signed tokens and CSRs, and a ready Authority.
//
// It is a test-helper package: every constructor takes a testing.TB and fails
// the test on error. Nothing here is safe to use outside tests.
package authoritytest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/url"
	"sync"
	"testing"
	"time"
)

// Epoch is the fixed instant fake clocks start at.
var Epoch = time.Date(2031, time.March, 4, 5, 6, 7, 0, time.UTC)

// Clock is a fake clock. Safe for concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock stopped at t.
func NewClock(t time.Time) *Clock { return &Clock{now: t} }

// Now returns the current fake time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Add moves the clock by d.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// PKI is a self-signed root and an intermediate it signed, with their keys.
type PKI struct {
	Root            *x509.Certificate
	RootKey         *ecdsa.PrivateKey
	Intermediate    *x509.Certificate
	IntermediateKey *ecdsa.PrivateKey
}

// NewPKI creates a root valid for ten years around now and an intermediate
// valid from now−1h to now+interLife.
func NewPKI(t testing.TB, now time.Time, interLife time.Duration) *PKI {
	t.Helper()
	rootKey := NewKey(t)
	rootTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "Test Root CA"},
		NotBefore:             now.Add(-24 * time.Hour),
		NotAfter:              now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            1,
	}
	root := createCert(t, rootTmpl, rootTmpl, rootKey.Public(), rootKey)
	interKey := NewKey(t)
	interTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(2),
		Subject:               pkix.Name{CommonName: "Test Intermediate CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(interLife),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	inter := createCert(t, interTmpl, root, interKey.Public(), rootKey)
	return &PKI{Root: root, RootKey: rootKey, Intermediate: inter, IntermediateKey: interKey}
}

// Leaf describes a certificate IssueLeaf signs directly with the intermediate,
// bypassing the authority (for renew and revoke tests).
type Leaf struct {
	CommonName  string
	DNSNames    []string
	NotBefore   time.Time
	NotAfter    time.Time
	Key         crypto.Signer // nil: a new P-256 key
	Serial      *big.Int      // nil: 1000
	ExtKeyUsage []x509.ExtKeyUsage
	KeyUsage    x509.KeyUsage
	Extra       []pkix.Extension
	URIs        []*url.URL
}

// IssueLeaf signs l with the intermediate and returns the certificate and its key.
func (p *PKI) IssueLeaf(t testing.TB, l Leaf) (*x509.Certificate, crypto.Signer) {
	t.Helper()
	key := l.Key
	if key == nil {
		key = NewKey(t)
	}
	serial := l.Serial
	if serial == nil {
		serial = big.NewInt(1000)
	}
	eku := l.ExtKeyUsage
	if eku == nil {
		eku = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
	}
	ku := l.KeyUsage
	if ku == 0 {
		ku = x509.KeyUsageDigitalSignature
	}
	tmpl := &x509.Certificate{
		SerialNumber:    serial,
		Subject:         pkix.Name{CommonName: l.CommonName},
		DNSNames:        l.DNSNames,
		URIs:            l.URIs,
		NotBefore:       l.NotBefore,
		NotAfter:        l.NotAfter,
		KeyUsage:        ku,
		ExtKeyUsage:     eku,
		ExtraExtensions: l.Extra,
	}
	return createCert(t, tmpl, p.Intermediate, key.Public(), p.IntermediateKey), key
}

// NewKey returns a new ECDSA P-256 key.
func NewKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("generate P-256 key: %v", err)
	}
	return k
}

func createCert(t testing.TB, tmpl, parent *x509.Certificate, pub crypto.PublicKey, signer crypto.Signer) *x509.Certificate {
	t.Helper()
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
	if err != nil {
		t.Fatalf("create certificate %q: %v", tmpl.Subject.CommonName, err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("parse certificate %q: %v", tmpl.Subject.CommonName, err)
	}
	return c
}

// CSR describes a certificate request NewCSR creates.
type CSR struct {
	CommonName string
	DNSNames   []string
	Emails     []string
	URIs       []*url.URL
	Key        crypto.Signer // nil: a new P-256 key
}

// NewCSR creates and parses a signed certificate request.
func NewCSR(t testing.TB, c CSR) *x509.CertificateRequest {
	t.Helper()
	key := c.Key
	if key == nil {
		key = NewKey(t)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject:        pkix.Name{CommonName: c.CommonName},
		DNSNames:       c.DNSNames,
		EmailAddresses: c.Emails,
		URIs:           c.URIs,
	}, key)
	if err != nil {
		t.Fatalf("create CSR: %v", err)
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		t.Fatalf("parse CSR: %v", err)
	}
	return csr
}

// CSRPEM returns the PEM form of csr, as the CLI sends it.
func CSRPEM(csr *x509.CertificateRequest) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csr.Raw}))
}

// CertPEM returns the PEM form of c.
func CertPEM(c *x509.Certificate) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
}
