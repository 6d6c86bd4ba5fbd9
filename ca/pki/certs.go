package pki

import (
	"crypto"
	"crypto/rand"
	"crypto/sha1" //nolint:gosec // RFC 5280 §4.2.1.2 method (1), as step computes the SubjectKeyId.
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/mayfly-pki/mayfly/internal/keyutil"
)

// CA is a CA certificate with its private key.
type CA struct {
	Certificate *x509.Certificate
	Signer      crypto.Signer
}

// CertOptions parametrize NewRoot and NewIntermediate.
type CertOptions struct {
	// Name is the PKI name: O=<Name>, CN=<Name> Root CA / Intermediate CA.
	Name string
	// NotBefore is the start of validity (usually now); NotAfter = NotBefore + Validity.
	NotBefore time.Time
	// Validity is the lifetime; zero means CAValidity (10 years).
	Validity time.Duration
}

// NewRoot creates a self-signed root CA certificate for key with step's
// profile (wire-spec §1.5): subject "O=<name>, CN=<name> Root CA", 128-bit
// random serial, validity NotBefore → NotBefore+Validity, KeyUsage critical
// certSign|crlSign, BasicConstraints critical CA pathlen 1, SubjectKeyId
// (SHA-1 of the public key bits), no AuthorityKeyId, signed with the
// algorithm keyutil.SignatureAlgorithm chooses for the key.
func NewRoot(key crypto.Signer, o CertOptions) (*x509.Certificate, error) {
	tmpl, err := caTemplate(key.Public(), o, o.Name+" Root CA", 1)
	if err != nil {
		return nil, fmt.Errorf("root certificate: %w", err)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("root certificate: signing: %w", err)
	}
	crt, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("root certificate: parsing the result: %w", err)
	}
	return crt, nil
}

// NewIntermediate creates an intermediate CA certificate for pub, signed by
// the root, with step's profile (wire-spec §1.5): subject "O=<name>, CN=<name>
// Intermediate CA", issuer = root subject, 128-bit random serial, validity
// NotBefore → NotBefore+Validity, KeyUsage critical certSign|crlSign,
// BasicConstraints critical CA pathlen 0, SubjectKeyId, and AuthorityKeyId =
// the root's SubjectKeyId. It fails when root cannot sign CA certificates.
func NewIntermediate(pub crypto.PublicKey, root CA, o CertOptions) (*x509.Certificate, error) {
	if err := checkIssuer(root); err != nil {
		return nil, fmt.Errorf("intermediate certificate: %w", err)
	}
	tmpl, err := caTemplate(pub, o, o.Name+" Intermediate CA", 0)
	if err != nil {
		return nil, fmt.Errorf("intermediate certificate: %w", err)
	}
	tmpl.SignatureAlgorithm = keyutil.SignatureAlgorithm(root.Signer.Public())
	if len(root.Certificate.SubjectKeyId) > 0 {
		tmpl.AuthorityKeyId = root.Certificate.SubjectKeyId
	} else {
		// Some externally made roots lack an SKI; derive the AKI the same way.
		aki, err := subjectKeyID(root.Certificate.PublicKey)
		if err != nil {
			return nil, fmt.Errorf("intermediate certificate: root key id: %w", err)
		}
		tmpl.AuthorityKeyId = aki
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, root.Certificate, pub, root.Signer)
	if err != nil {
		return nil, fmt.Errorf("intermediate certificate: signing: %w", err)
	}
	crt, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("intermediate certificate: parsing the result: %w", err)
	}
	return crt, nil
}

// checkIssuer verifies that root can issue an intermediate CA: its key
// matches its certificate, it is a CA allowed to sign certificates, and its
// path length leaves room for one CA below it.
func checkIssuer(root CA) error {
	c := root.Certificate
	if c == nil || root.Signer == nil {
		return errors.New("missing root certificate or key")
	}
	if !keyutil.Equal(c.PublicKey, root.Signer.Public()) {
		return errors.New("the root key does not match the root certificate")
	}
	if !c.BasicConstraintsValid || !c.IsCA {
		return fmt.Errorf("the root certificate %q is not a CA certificate", c.Subject.CommonName)
	}
	if c.KeyUsage != 0 && c.KeyUsage&x509.KeyUsageCertSign == 0 {
		return fmt.Errorf("the root certificate %q cannot sign certificates (no certSign key usage)", c.Subject.CommonName)
	}
	if c.MaxPathLen == 0 && c.MaxPathLenZero {
		return fmt.Errorf("the root certificate %q has path length 0 and cannot sign an intermediate CA", c.Subject.CommonName)
	}
	return nil
}

// caTemplate builds the common part of step's root and intermediate profiles.
func caTemplate(pub crypto.PublicKey, o CertOptions, cn string, pathLen int) (*x509.Certificate, error) {
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	ski, err := subjectKeyID(pub)
	if err != nil {
		return nil, err
	}
	validity := o.Validity
	if validity == 0 {
		validity = CAValidity
	}
	notBefore := o.NotBefore.UTC().Truncate(time.Second)
	return &x509.Certificate{
		SerialNumber: serial,
		Subject: pkix.Name{
			Organization: []string{o.Name},
			CommonName:   cn,
		},
		NotBefore:             notBefore,
		NotAfter:              notBefore.Add(validity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            pathLen,
		MaxPathLenZero:        pathLen == 0,
		SubjectKeyId:          ski,
		SignatureAlgorithm:    keyutil.SignatureAlgorithm(pub),
	}, nil
}

// newSerial returns a random positive serial number below 2^128, as step does.
func newSerial() (*big.Int, error) {
	limit := new(big.Int).Lsh(big.NewInt(1), 128)
	for {
		sn, err := rand.Int(rand.Reader, limit)
		if err != nil {
			return nil, fmt.Errorf("generating a serial number: %w", err)
		}
		if sn.Sign() > 0 {
			return sn, nil
		}
	}
}

// subjectKeyID returns the SHA-1 of the subjectPublicKey BIT STRING
// (RFC 5280 §4.2.1.2 method 1), as step's x509util computes it.
func subjectKeyID(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("marshaling the public key: %w", err)
	}
	var spki struct {
		Algorithm        pkix.AlgorithmIdentifier
		SubjectPublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(der, &spki); err != nil {
		return nil, fmt.Errorf("parsing the public key: %w", err)
	}
	sum := sha1.Sum(spki.SubjectPublicKey.Bytes) //nolint:gosec // identifier, not a signature.
	return sum[:], nil
}
