package issuer

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"testing"
	"time"
)

// benchTemplates are the two shapes on the hot path: a sign request's
// default leaf and a renewal, which copies the old certificate's subject and
// extensions.
func benchTemplates(b *testing.B) (iss *Issuer, pub crypto.PublicKey, tmpls map[string]*x509.Certificate) {
	b.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leafKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca := derCA(b, caKey)
	iss, err := New([]*x509.Certificate{ca}, caKey)
	if err != nil {
		b.Fatal(err)
	}
	spki, _ := x509.MarshalPKIXPublicKey(leafKey.Public())
	ski, _ := KeyID(spki)
	serial, _ := NewSerial()
	prov := pkix.Extension{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 37476, 9000, 64, 1},
		Value: mustDER(struct {
			Type int
			Name []byte
			ID   []byte
		}{1, []byte("admin@example.com"), []byte("nvgnR8wSzpUlrt_tC3mvrhwhBx9Y7T1WL_JjcFVWYBQ")})}
	nb := time.Now().Truncate(time.Second)
	sign := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: "svc.example.com"}, DNSNames: []string{"svc.example.com"},
		NotBefore: nb, NotAfter: nb.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		SubjectKeyId: ski, ExtraExtensions: []pkix.Extension{prov},
	}
	der, err := x509.CreateCertificate(rand.Reader, sign, ca, leafKey.Public(), caKey)
	if err != nil {
		b.Fatal(err)
	}
	old, _ := x509.ParseCertificate(der)
	renew := &x509.Certificate{SerialNumber: serial, RawSubject: old.RawSubject, Subject: old.Subject, NotBefore: nb, NotAfter: nb.Add(24 * time.Hour)}
	for _, e := range old.Extensions {
		if !e.Id.Equal(oidAuthorityKeyID) {
			renew.ExtraExtensions = append(renew.ExtraExtensions, e)
		}
	}
	return iss, leafKey.Public(), map[string]*x509.Certificate{"sign": sign, "renew": renew}
}

func BenchmarkEncodeTBS(b *testing.B) {
	iss, pub, tmpls := benchTemplates(b)
	for _, name := range []string{"sign", "renew"} {
		tmpl := tmpls[name]
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				w := derWriter{b: make([]byte, 0, certSizeHint)}
				if err := iss.encodeTBS(&w, tmpl, pub); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkCreateCertificate(b *testing.B) {
	iss, pub, tmpls := benchTemplates(b)
	for _, name := range []string{"sign", "renew"} {
		tmpl := tmpls[name]
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := iss.createCertificate(tmpl, pub); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
