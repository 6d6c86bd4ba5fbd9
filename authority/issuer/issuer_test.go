package issuer_test

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/mayfly-pki/mayfly/authority/authoritytest"
	"github.com/mayfly-pki/mayfly/authority/issuer"
)

func TestNew(t *testing.T) {
	t.Parallel()
	pki := authoritytest.NewPKI(t, authoritytest.Epoch, time.Hour)
	chain := []*x509.Certificate{pki.Intermediate, pki.Root}
	if _, err := issuer.New(nil, pki.IntermediateKey); err == nil {
		t.Fatal("New without a chain succeeded")
	}
	if _, err := issuer.New(chain, nil); err == nil {
		t.Fatal("New without a key succeeded")
	}
	if _, err := issuer.New(chain, pki.RootKey); err == nil || !strings.Contains(err.Error(), "Test Intermediate CA") {
		t.Fatalf("New with the wrong key = %v, want an error naming the certificate", err)
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := issuer.New(chain, rsaKey); err == nil {
		t.Fatal("New with a key of another type succeeded")
	}
	iss, err := issuer.New(chain, pki.IntermediateKey)
	if err != nil {
		t.Fatal(err)
	}
	if iss.Certificate() != pki.Intermediate || len(iss.Chain()) != 2 {
		t.Fatal("Certificate/Chain")
	}
	pems := iss.ChainPEM()
	if len(pems) != 2 {
		t.Fatalf("ChainPEM has %d entries", len(pems))
	}
	for i, p := range pems {
		block, rest := pem.Decode([]byte(p))
		if block == nil || block.Type != "CERTIFICATE" || len(rest) != 0 || !bytes.Equal(block.Bytes, chain[i].Raw) || !strings.HasSuffix(p, "-----\n") {
			t.Fatalf("ChainPEM[%d] = %q", i, p)
		}
	}
}

func TestSign(t *testing.T) {
	t.Parallel()
	now := authoritytest.Epoch
	pki := authoritytest.NewPKI(t, now, 24*time.Hour)
	iss, err := issuer.New([]*x509.Certificate{pki.Intermediate}, pki.IntermediateKey)
	if err != nil {
		t.Fatal(err)
	}
	key := authoritytest.NewKey(t)
	tests := []struct {
		name         string
		notAfter     time.Time
		wantNotAfter time.Time
	}{
		{"within the intermediate", now.Add(time.Hour), now.Add(time.Hour)},
		{"capped at the intermediate", now.Add(48 * time.Hour), pki.Intermediate.NotAfter},
	}
	for _, tc := range tests {
		tmpl := &x509.Certificate{
			Subject:   pkix.Name{CommonName: "leaf"},
			NotBefore: now.Add(-time.Minute),
			NotAfter:  tc.notAfter,
			KeyUsage:  x509.KeyUsageDigitalSignature,
		}
		der, err := iss.Sign(tmpl, key.Public())
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		if !c.NotAfter.Equal(tc.wantNotAfter) || !tmpl.NotAfter.Equal(tc.wantNotAfter) {
			t.Fatalf("%s: NotAfter = %v (template %v), want %v", tc.name, c.NotAfter, tmpl.NotAfter, tc.wantNotAfter)
		}
		if tmpl.SerialNumber == nil || c.SerialNumber.Cmp(tmpl.SerialNumber) != 0 {
			t.Fatalf("%s: template serial %v, certificate %v", tc.name, tmpl.SerialNumber, c.SerialNumber)
		}
		if !bytes.Equal(c.AuthorityKeyId, pki.Intermediate.SubjectKeyId) || len(c.AuthorityKeyId) == 0 {
			t.Fatalf("%s: AKI %x, want the intermediate SKI %x", tc.name, c.AuthorityKeyId, pki.Intermediate.SubjectKeyId)
		}
		if err := c.CheckSignatureFrom(pki.Intermediate); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if c.SignatureAlgorithm != x509.ECDSAWithSHA256 {
			t.Fatalf("%s: signature algorithm %v", tc.name, c.SignatureAlgorithm)
		}
	}
}

func TestNewSerial(t *testing.T) {
	t.Parallel()
	limit := new(big.Int).Lsh(big.NewInt(1), 128)
	seen := map[string]bool{}
	for range 200 {
		n, err := issuer.NewSerial()
		if err != nil {
			t.Fatal(err)
		}
		if n.Sign() <= 0 || n.Cmp(limit) >= 0 {
			t.Fatalf("serial %v outside (0, 2^128)", n)
		}
		if seen[n.String()] {
			t.Fatalf("serial %v repeated", n)
		}
		seen[n.String()] = true
	}
}

func TestKeyID(t *testing.T) {
	t.Parallel()
	key := authoritytest.NewKey(t)
	spki, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	var info struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(spki, &info); err != nil {
		t.Fatal(err)
	}
	// RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits; for a
	// P-256 key those are the 65-byte uncompressed point.
	if len(info.PublicKey.Bytes) != 65 {
		t.Fatalf("unexpected key encoding of %d bytes", len(info.PublicKey.Bytes))
	}
	want := sha1.Sum(info.PublicKey.Bytes)
	got, err := issuer.KeyID(spki)
	if err != nil || !bytes.Equal(got, want[:]) {
		t.Fatalf("KeyID = %x, %v; want %x", got, err, want)
	}
	if _, err := issuer.KeyID([]byte{0x30, 0x01}); err == nil {
		t.Fatal("KeyID of garbage succeeded")
	}
}

// TestSignRefusesInvertedValidity: the cap at the intermediate's expiry must
// not produce a certificate that ends before it starts (issue 14).
func TestSignRefusesInvertedValidity(t *testing.T) {
	t.Parallel()
	now := authoritytest.Epoch
	pki := authoritytest.NewPKI(t, now, 24*time.Hour)
	iss, err := issuer.New([]*x509.Certificate{pki.Intermediate}, pki.IntermediateKey)
	if err != nil {
		t.Fatal(err)
	}
	key := authoritytest.NewKey(t)
	for name, sign := range map[string]func(*x509.Certificate, crypto.PublicKey) ([]byte, error){"Sign": iss.Sign, "SignTemplate": iss.SignTemplate} {
		tmpl := &x509.Certificate{
			Subject:   pkix.Name{CommonName: "leaf"},
			NotBefore: pki.Intermediate.NotAfter.Add(time.Hour),
			NotAfter:  pki.Intermediate.NotAfter.Add(2 * time.Hour),
			KeyUsage:  x509.KeyUsageDigitalSignature,
		}
		if der, err := sign(tmpl, key.Public()); err == nil || !strings.Contains(err.Error(), "before the issuer's expiry at "+pki.Intermediate.NotAfter.Format(time.RFC3339)) {
			t.Fatalf("%s: %d bytes, error %v; want a refusal naming the issuer's expiry", name, len(der), err)
		}
	}
}
