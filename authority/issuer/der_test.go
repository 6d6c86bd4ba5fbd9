package issuer

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"io"
	"math/big"
	"net"
	"net/url"
	"testing"
	"time"
)

// derCA returns a self-signed CA with key k, as the issuing certificate.
func derCA(t *testing.T, k crypto.Signer) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "der CA", Organization: []string{"Mayfly"}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public(), k)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestDirectEncoderMatchesStdlib: for every template shape the authority
// builds, the TBSCertificate is byte-identical to x509.CreateCertificate's
// and the signature verifies.
func TestDirectEncoderMatchesStdlib(t *testing.T) {
	t.Parallel()
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ec384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	leafKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	u, _ := url.Parse("spiffe://example.org/svc")
	extra := pkix.Extension{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 37476, 9000, 64, 1}, Value: []byte{0x30, 0}}
	nb := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	templates := map[string]*x509.Certificate{
		"sign leaf": {
			Subject: pkix.Name{CommonName: "svc.example.com"}, NotBefore: nb, NotAfter: nb.Add(24 * time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
			SubjectKeyId: []byte{1, 2, 3}, DNSNames: []string{"svc.example.com", "b.example.com"},
			IPAddresses: []net.IP{net.ParseIP("10.0.0.1"), net.ParseIP("::1")}, EmailAddresses: []string{"a@example.com"},
			URIs: []*url.URL{u}, ExtraExtensions: []pkix.Extension{extra},
		},
		"rsa key usage": {
			Subject: pkix.Name{CommonName: "r"}, NotBefore: nb, NotAfter: nb.Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		},
		"empty subject, SAN critical": {
			NotBefore: nb, NotAfter: nb.Add(time.Hour), DNSNames: []string{"x.example.com"},
		},
		"renewal: raw subject, copied extensions": {
			RawSubject: mustDER(pkix.Name{CommonName: "old", Organization: []string{"O"}}.ToRDNSequence()),
			NotBefore:  nb, NotAfter: nb.Add(time.Hour),
			ExtraExtensions: []pkix.Extension{keyUsageExtension(x509.KeyUsageDigitalSignature),
				{Id: oidSubjectAltName, Value: []byte{0x30, 3, 0x82, 1, 'a'}}, extra},
		},
		"generalized time after 2049": {
			Subject: pkix.Name{CommonName: "far"}, NotBefore: nb, NotAfter: time.Date(2051, 1, 1, 0, 0, 0, 0, time.UTC),
		},
	}
	for keyName, key := range map[string]crypto.Signer{"P-256": ecKey, "P-384": ec384, "RSA": rsaKey, "Ed25519": edKey} {
		ca := derCA(t, key)
		iss, err := New([]*x509.Certificate{ca}, key)
		if err != nil {
			t.Fatalf("%s: New: %v", keyName, err)
		}
		if !iss.fast {
			t.Fatalf("%s: direct encoder not enabled", keyName)
		}
		for name, tmpl := range templates {
			tmpl.SerialNumber = big.NewInt(0).Lsh(big.NewInt(1), 127)
			want, err := x509.CreateCertificate(rand.Reader, tmpl, ca, leafKey.Public(), key)
			if err != nil {
				t.Fatalf("%s/%s: stdlib: %v", keyName, name, err)
			}
			got, err := iss.createCertificate(tmpl, leafKey.Public())
			if err != nil {
				t.Fatalf("%s/%s: direct: %v", keyName, name, err)
			}
			wc, _ := x509.ParseCertificate(want)
			gc, err := x509.ParseCertificate(got)
			if err != nil {
				t.Fatalf("%s/%s: direct encoding does not parse: %v", keyName, name, err)
			}
			if !bytes.Equal(wc.RawTBSCertificate, gc.RawTBSCertificate) {
				t.Fatalf("%s/%s: TBSCertificate differs from x509.CreateCertificate's\nwant %x\ngot  %x", keyName, name, wc.RawTBSCertificate, gc.RawTBSCertificate)
			}
			if err := gc.CheckSignatureFrom(ca); err != nil {
				t.Fatalf("%s/%s: signature: %v", keyName, name, err)
			}
		}
	}
}

// TestDirectEncoderFallsBack: fields it does not encode go to x509.CreateCertificate.
func TestDirectEncoderFallsBack(t *testing.T) {
	t.Parallel()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca := derCA(t, key)
	iss, err := New([]*x509.Certificate{ca}, key)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{Subject: pkix.Name{CommonName: "ca-ish"}, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour),
		BasicConstraintsValid: true, OCSPServer: []string{"http://ocsp.example.com"}}
	der, err := iss.Sign(tmpl, key.Public())
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil || !c.BasicConstraintsValid || len(c.OCSPServer) != 1 {
		t.Fatalf("fallback lost fields: %v %+v", err, c)
	}
}

func TestSelfCheckRefusesBadSigner(t *testing.T) {
	t.Parallel()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca := derCA(t, key)
	s := &mixedSigner{pub: key.Public(), sign: other}
	if _, err := New([]*x509.Certificate{ca}, s); err == nil {
		t.Fatal("New accepted a signer whose signatures do not verify")
	}
}

// mixedSigner claims one key and signs with another.
type mixedSigner struct {
	pub  crypto.PublicKey
	sign crypto.Signer
}

func (m *mixedSigner) Public() crypto.PublicKey { return m.pub }
func (m *mixedSigner) Sign(r io.Reader, d []byte, o crypto.SignerOpts) ([]byte, error) {
	return m.sign.Sign(r, d, o)
}
