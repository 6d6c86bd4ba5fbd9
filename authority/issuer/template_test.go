package issuer_test

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"net"
	"testing"
	"time"

	"github.com/mayfly-pki/mayfly/authority/authoritytest"
	"github.com/mayfly-pki/mayfly/authority/issuer"
)

// SignTemplate signs shapes the direct encoder leaves alone, and fields it
// would refuse (an extended key usage it has no OID for), through
// x509.CreateCertificate, with the same serial, capping and AKI as Sign.
func TestSignTemplate(t *testing.T) {
	t.Parallel()
	pki := authoritytest.NewPKI(t, authoritytest.Epoch, time.Hour)
	iss, err := issuer.New([]*x509.Certificate{pki.Intermediate}, pki.IntermediateKey)
	if err != nil {
		t.Fatal(err)
	}
	key := authoritytest.NewKey(t)
	_, permitted, err := net.ParseCIDR("10.0.0.0/8")
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: "templated", Organization: []string{"Acme"}},
		NotBefore:             authoritytest.Epoch,
		NotAfter:              authoritytest.Epoch.Add(48 * time.Hour), // past the intermediate
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageIPSECUser, x509.ExtKeyUsageMicrosoftServerGatedCrypto},
		UnknownExtKeyUsage:    []asn1.ObjectIdentifier{{1, 2, 3, 4}},
		BasicConstraintsValid: true,
		PermittedIPRanges:     []*net.IPNet{permitted},
		Policies:              []x509.OID{mustOID(t, 2, 23, 140, 1, 2, 1)},
		DNSNames:              []string{"templated.example.com"},
		ExtraExtensions:       []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 2, 3, 5}, Value: []byte{0x05, 0x00}}},
	}
	der, err := iss.SignTemplate(tmpl, key.Public())
	if err != nil {
		t.Fatalf("SignTemplate: %v", err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.CheckSignatureFrom(pki.Intermediate); err != nil {
		t.Fatalf("signature: %v", err)
	}
	if tmpl.SerialNumber == nil || c.SerialNumber.Cmp(tmpl.SerialNumber) != 0 {
		t.Fatalf("serial %v, template %v", c.SerialNumber, tmpl.SerialNumber)
	}
	if !c.NotAfter.Equal(pki.Intermediate.NotAfter) {
		t.Fatalf("NotAfter = %s, want capped at the intermediate's %s", c.NotAfter, pki.Intermediate.NotAfter)
	}
	if string(c.AuthorityKeyId) != string(pki.Intermediate.SubjectKeyId) {
		t.Fatalf("AKI = %x", c.AuthorityKeyId)
	}
	if len(c.ExtKeyUsage) != 2 || len(c.UnknownExtKeyUsage) != 1 || len(c.PermittedIPRanges) != 1 || len(c.Policies) != 1 {
		t.Fatalf("fields lost: EKU %v unknown %v ranges %v policies %v", c.ExtKeyUsage, c.UnknownExtKeyUsage, c.PermittedIPRanges, c.Policies)
	}
	// The direct encoder knows no OID for these extended key usages: Sign
	// fails where SignTemplate does not.
	plain := &x509.Certificate{
		Subject: pkix.Name{CommonName: "plain"}, NotBefore: authoritytest.Epoch, NotAfter: authoritytest.Epoch.Add(time.Minute),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageIPSECUser},
	}
	if _, err := iss.Sign(plain, key.Public()); err == nil {
		t.Fatal("Sign with an extended key usage the direct encoder lacks succeeded; SignTemplate is no longer needed for it")
	}
	if _, err := iss.SignTemplate(plain, key.Public()); err != nil {
		t.Fatalf("SignTemplate: %v", err)
	}
	// Names crypto/x509 refuses are refused, not encoded.
	bad := &x509.Certificate{Subject: pkix.Name{CommonName: "bad"}, NotBefore: authoritytest.Epoch, NotAfter: authoritytest.Epoch.Add(time.Minute),
		DNSNames: []string{"bücher.example"}}
	if _, err := iss.SignTemplate(bad, key.Public()); err == nil {
		t.Fatal("SignTemplate accepted a non-IA5 DNS name")
	}
}

func mustOID(t *testing.T, arcs ...uint64) x509.OID {
	t.Helper()
	oid, err := x509.OIDFromInts(arcs)
	if err != nil {
		t.Fatal(err)
	}
	return oid
}
