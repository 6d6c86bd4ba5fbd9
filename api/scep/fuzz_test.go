package scep

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"

	"github.com/micromdm/scep/v2/cryptoutil/x509util"
	microscep "github.com/micromdm/scep/v2/scep"
)

// FuzzParseRequest feeds PKIOperation messages (network input, bounded by
// MaxMessageSize) to the parser and the decrypter.
func FuzzParseRequest(f *testing.F) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		f.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "fuzz"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
	}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	cert, _ := x509.ParseCertificate(der)
	csrDER, err := x509util.CreateCertificateRequest(rand.Reader, &x509util.CertificateRequest{
		CertificateRequest: x509.CertificateRequest{Subject: pkix.Name{CommonName: "fuzz"}}, ChallengePassword: "x",
	}, key)
	if err != nil {
		f.Fatal(err)
	}
	csr, _ := x509.ParseCertificateRequest(csrDER)
	msg, err := microscep.NewCSRRequest(csr, &microscep.PKIMessage{
		MessageType: microscep.PKCSReq, Recipients: []*x509.Certificate{cert}, SignerKey: key, SignerCert: cert,
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(msg.Raw)
	f.Add([]byte{0x30, 0x80, 0x06, 0x09})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := parseRequest(b)
		if err != nil {
			return
		}
		_ = guard(func() error { return req.msg.DecryptPKIEnvelope(cert, key) })
	})
}
