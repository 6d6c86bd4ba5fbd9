package crl

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
	"math/big"
	"testing"
	"time"
)

func testIssuer(t testing.TB, key crypto.Signer) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "CRL Test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, BasicConstraintsValid: true, IsCA: true,
		SubjectKeyId: []byte{1, 2, 3, 4},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// checkSame signs entries with createList and with Go, and requires the
// same TBS bytes and a signature that verifies.
func checkSame(t testing.TB, entries []x509.RevocationListEntry, issuer *x509.Certificate, key crypto.Signer) {
	t.Helper()
	idp, err := IDPExtension("https://ca.example.com/1.0/crl")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 7, 3, 4, 5, 0, time.UTC)
	tmpl := &x509.RevocationList{RevokedCertificateEntries: entries, Number: big.NewInt(42), ThisUpdate: now,
		NextUpdate: now.Add(24 * time.Hour), ExtraExtensions: []pkix.Extension{idp}}
	fast, ok, err := fastList(tmpl, issuer, key)
	if err == nil && !ok {
		t.Fatal("the fast encoder left these entries to Go's")
	}
	want, err2 := x509.CreateRevocationList(rand.Reader, tmpl, issuer, key)
	if (err == nil) != (err2 == nil) {
		t.Fatalf("createList err %v, Go err %v", err, err2)
	}
	if err != nil {
		return
	}
	a, err := x509.ParseRevocationList(fast)
	if err != nil {
		t.Fatalf("parse fast CRL: %v", err)
	}
	b, err := x509.ParseRevocationList(want)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.RawTBSRevocationList, b.RawTBSRevocationList) {
		t.Fatalf("TBS differs from Go's:\n fast %x\n go   %x", a.RawTBSRevocationList, b.RawTBSRevocationList)
	}
	if err := a.CheckSignatureFrom(issuer); err != nil {
		t.Fatalf("fast CRL signature: %v", err)
	}
}

func TestFastMatchesStdlib(t *testing.T) {
	t.Parallel()
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ec384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	big20 := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 160), big.NewInt(1))
	entries := []x509.RevocationListEntry{
		{SerialNumber: big.NewInt(0), RevocationTime: time.Date(2026, 1, 2, 3, 4, 5, 999, time.UTC)},
		{SerialNumber: big.NewInt(127), RevocationTime: time.Date(1949, 12, 31, 23, 59, 59, 0, time.UTC), ReasonCode: 1},
		{SerialNumber: big.NewInt(128), RevocationTime: time.Date(2050, 1, 1, 0, 0, 0, 0, time.UTC), ReasonCode: 10},
		{SerialNumber: big20, RevocationTime: time.Date(2049, 12, 31, 23, 59, 59, 0, time.FixedZone("x", 3600)), ReasonCode: 6},
	}
	for i := range 300 { // the revokedCertificates length needs two bytes
		entries = append(entries, x509.RevocationListEntry{SerialNumber: big.NewInt(int64(i) << 40), RevocationTime: time.Unix(int64(i)*1e6, 0), ReasonCode: i % 11})
	}
	for name, key := range map[string]crypto.Signer{"P-256": ec, "P-384": ec384, "RSA": rk, "Ed25519": ed} {
		issuer := testIssuer(t, key)
		for _, n := range []int{1, 4, len(entries)} {
			t.Run(name, func(t *testing.T) { checkSame(t, entries[:n], issuer, key) })
		}
	}
}

func FuzzFastMatchesStdlib(f *testing.F) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	issuer := testIssuer(f, key)
	f.Add([]byte{1, 2, 3}, int64(1700000000), uint8(1))
	f.Add([]byte{0x80}, int64(-1e10), uint8(0))
	f.Fuzz(func(t *testing.T, serial []byte, when int64, reason uint8) {
		if len(serial) > 40 {
			return
		}
		var es []x509.RevocationListEntry
		for i := range 3 {
			sn := new(big.Int).SetBytes(serial)
			sn.Add(sn, big.NewInt(int64(i)))
			es = append(es, x509.RevocationListEntry{SerialNumber: sn, RevocationTime: time.Unix(when%(1<<36)+int64(i), 0), ReasonCode: int(reason%12) * (i % 2)})
		}
		checkSame(t, es, issuer, key)
	})
}
