package certificate

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // RFC 5280 §4.2.1.2 key identifier method 1
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/big"
	"net"
	"net/mail"
	"net/url"
	"strings"
	"time"
)

// Certificate profiles of step certificate create/sign.
const (
	profileLeaf           = "leaf"
	profileIntermediateCA = "intermediate-ca"
	profileRootCA         = "root-ca"
	profileSelfSigned     = "self-signed"
)

// Default validity per profile, as step.
const (
	defaultLeafValidity         = 24 * time.Hour
	defaultSelfSignedValidity   = 24 * time.Hour
	defaultIntermediateValidity = 10 * 365 * 24 * time.Hour
	defaultRootValidity         = 10 * 365 * 24 * time.Hour
)

// newTemplate returns the certificate template of a profile for subject/sans and
// the public key pub; validity is left to the caller.
func newTemplate(profile, subject string, sans []string, pub crypto.PublicKey) (*x509.Certificate, time.Duration, error) {
	serial, err := randomSerial()
	if err != nil {
		return nil, 0, err
	}
	ski, err := subjectKeyID(pub)
	if err != nil {
		return nil, 0, err
	}
	t := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: subject},
		SubjectKeyId: ski,
	}
	setSANs(t, sans)
	switch profile {
	case profileLeaf, profileSelfSigned:
		t.KeyUsage = x509.KeyUsageDigitalSignature
		if _, ok := pub.(*rsa.PublicKey); ok {
			t.KeyUsage |= x509.KeyUsageKeyEncipherment
		}
		t.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
		if profile == profileSelfSigned {
			return t, defaultSelfSignedValidity, nil
		}
		return t, defaultLeafValidity, nil
	case profileIntermediateCA:
		t.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
		t.BasicConstraintsValid, t.IsCA, t.MaxPathLen, t.MaxPathLenZero = true, true, 0, true
		return t, defaultIntermediateValidity, nil
	case profileRootCA:
		t.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
		t.BasicConstraintsValid, t.IsCA, t.MaxPathLen = true, true, 1
		return t, defaultRootValidity, nil
	}
	return nil, 0, fmt.Errorf("invalid value '%s' for flag '--profile'; options are leaf, intermediate-ca, root-ca, self-signed", profile)
}

// setSANs sorts names into DNS names, IP addresses, emails and URIs.
func setSANs(t *x509.Certificate, sans []string) {
	for _, s := range sans {
		switch {
		case net.ParseIP(s) != nil:
			t.IPAddresses = append(t.IPAddresses, net.ParseIP(s))
		case strings.Contains(s, "://"):
			if u, err := url.Parse(s); err == nil {
				t.URIs = append(t.URIs, u)
				continue
			}
			t.DNSNames = append(t.DNSNames, s)
		case strings.Contains(s, "@"):
			if _, err := mail.ParseAddress(s); err == nil {
				t.EmailAddresses = append(t.EmailAddresses, s)
				continue
			}
			t.DNSNames = append(t.DNSNames, s)
		default:
			t.DNSNames = append(t.DNSNames, s)
		}
	}
}

// randomSerial returns a positive random 128-bit serial number.
func randomSerial() (*big.Int, error) {
	limit := new(big.Int).Lsh(big.NewInt(1), 128)
	for {
		n, err := rand.Int(rand.Reader, limit)
		if err != nil {
			return nil, fmt.Errorf("error generating serial number: %w", err)
		}
		if n.Sign() > 0 {
			return n, nil
		}
	}
}

// subjectKeyID is the SHA-1 of the subjectPublicKey bits (RFC 5280 §4.2.1.2 (1)).
func subjectKeyID(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("error marshaling public key: %w", err)
	}
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(der, &spki); err != nil {
		return nil, fmt.Errorf("error parsing public key: %w", err)
	}
	sum := sha1.Sum(spki.PublicKey.Bytes) //nolint:gosec // key identifier, not a signature
	return sum[:], nil
}
