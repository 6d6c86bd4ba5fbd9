// Package issuer signs X.509 certificates with the CA's intermediate: serial,
// key identifiers, validity capping and the signature itself.
package issuer

import (
	"crypto"
	"crypto/rand"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"time"
)

// Issuer signs leaves with one intermediate. Immutable and safe for concurrent use.
type Issuer struct {
	cert     *x509.Certificate   // the issuing intermediate
	chain    []*x509.Certificate // intermediate first, as served in certChain
	chainPEM []string            // PEM of chain, computed once
	signer   crypto.Signer
	params   sigParams // how signer signs, for the direct encoder
	fast     bool      // use the direct encoder (der.go)
	verify   bool      // verify each direct-encoder signature: the signer is not in-process (verify.go)

	// For the direct encoder, computed once: the issuer Name and the
	// authority key identifier extension (nil without one).
	issuerName []byte
	akiExt     []byte
}

// New returns an Issuer for chain (issuing certificate first) and its key. It
// checks the key matches the certificate.
func New(chain []*x509.Certificate, signer crypto.Signer) (*Issuer, error) {
	if len(chain) == 0 {
		return nil, errors.New("issuer: no intermediate certificate")
	}
	if signer == nil {
		return nil, errors.New("issuer: no signing key")
	}
	type equaler interface{ Equal(crypto.PublicKey) bool }
	if pk, ok := chain[0].PublicKey.(equaler); !ok || !pk.Equal(signer.Public()) {
		return nil, fmt.Errorf("issuer: the intermediate key does not match the certificate %q", chain[0].Subject.CommonName)
	}
	i := &Issuer{cert: chain[0], chain: chain, signer: signer, verify: !inProcess(signer)}
	for _, c := range chain {
		i.chainPEM = append(i.chainPEM, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})))
	}
	if p, ok := signingParams(signer.Public()); ok {
		i.params, i.fast = p, true
		if err := i.prepareEncoder(); err != nil {
			return nil, err
		}
		if err := i.selfCheck(); err != nil {
			return nil, err
		}
	}
	return i, nil
}

// selfCheck signs one certificate through the direct encoder and verifies it
// against the intermediate: a key that signs wrongly is refused at start.
func (i *Issuer) selfCheck() error {
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: "mayfly issuer self-check"},
		NotBefore:   i.cert.NotBefore,
		NotAfter:    i.cert.NotBefore.Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := i.Sign(tmpl, i.signer.Public())
	if err != nil {
		return fmt.Errorf("issuer self-check: %w", err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return fmt.Errorf("issuer self-check: %w", err)
	}
	if err := i.cert.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature); err != nil {
		return fmt.Errorf("issuer self-check: the intermediate key does not produce valid signatures: %w", err)
	}
	return nil
}

// Certificate returns the issuing intermediate.
func (i *Issuer) Certificate() *x509.Certificate { return i.cert }

// Chain returns the intermediate chain, issuing certificate first.
func (i *Issuer) Chain() []*x509.Certificate { return i.chain }

// ChainPEM returns the PEM of each chain certificate.
func (i *Issuer) ChainPEM() []string { return i.chainPEM }

// serialLimit bounds serial numbers to 128 bits, as step-ca issues them.
var serialLimit = new(big.Int).Lsh(big.NewInt(1), 128)

// NewSerial returns a random positive 128-bit serial number.
func NewSerial() (*big.Int, error) {
	for {
		n, err := rand.Int(rand.Reader, serialLimit)
		if err != nil {
			return nil, fmt.Errorf("error generating serial number: %w", err)
		}
		if n.Sign() > 0 {
			return n, nil
		}
	}
}

// KeyID returns the RFC 5280 §4.2.1.2 method 1 key identifier (SHA-1 of the
// subjectPublicKey bits) from a DER SubjectPublicKeyInfo.
func KeyID(spki []byte) ([]byte, error) {
	var info struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(spki, &info); err != nil {
		return nil, fmt.Errorf("error parsing public key: %w", err)
	}
	sum := sha1.Sum(info.PublicKey.Bytes)
	return sum[:], nil
}

// Sign completes tmpl (serial, AKI via the intermediate, NotAfter capped at the
// intermediate's) and signs it for pub. tmpl.SerialNumber is set on return.
func (i *Issuer) Sign(tmpl *x509.Certificate, pub crypto.PublicKey) ([]byte, error) {
	if err := i.complete(tmpl); err != nil {
		return nil, err
	}
	der, err := i.createCertificate(tmpl, pub)
	if err != nil {
		return nil, fmt.Errorf("error signing certificate: %w", err)
	}
	return der, nil
}

// SignTemplate is Sign for a certificate a template described, which may use
// any field crypto/x509 knows (any extended key usage, basic and name
// constraints, policies, names in extensions). It always goes through
// x509.CreateCertificate, which checks the names, encodes every field and
// verifies the signature it makes: the direct encoder is for the shapes the
// authority builds itself.
func (i *Issuer) SignTemplate(tmpl *x509.Certificate, pub crypto.PublicKey) ([]byte, error) {
	if err := i.complete(tmpl); err != nil {
		return nil, err
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, i.cert, pub, i.signer)
	if err != nil {
		return nil, fmt.Errorf("error signing certificate: %w", err)
	}
	return der, nil
}

// complete sets a new serial number and caps NotAfter at the intermediate's.
// The authority fits a certificate's window in the intermediate's before it
// gets here; the cap is for the CA's own TLS certificate, and the check after
// it keeps any caller from signing a certificate that ends before it starts.
func (i *Issuer) complete(tmpl *x509.Certificate) error {
	if i.signer == nil {
		return ErrNoSigningKey
	}
	if tmpl.NotAfter.After(i.cert.NotAfter) {
		tmpl.NotAfter = i.cert.NotAfter
	}
	if !tmpl.NotBefore.Before(tmpl.NotAfter) {
		return fmt.Errorf("refusing to sign a certificate valid from %s to %s: it must start before it ends and before the issuer's expiry at %s",
			tmpl.NotBefore.UTC().Format(time.RFC3339), tmpl.NotAfter.UTC().Format(time.RFC3339), i.cert.NotAfter.UTC().Format(time.RFC3339))
	}
	serial, err := NewSerial()
	if err != nil {
		return err
	}
	tmpl.SerialNumber = serial
	return nil
}

// Signer returns the intermediate's key (SCEP decrypts with it when it is RSA).
func (i *Issuer) Signer() crypto.Signer { return i.signer }
