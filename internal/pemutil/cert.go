package pemutil

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"os"
)

// ParseCertificates returns every "CERTIFICATE" block in PEM data, or the one certificate if data is DER.
// Error if none.
//
// Other PEM blocks (keys, CSRs) are skipped. A CERTIFICATE block that does
// not parse is an error naming its position (1-based). Errors wrap ErrMalformed.
func ParseCertificates(data []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	rest := data
	sawPEM := false
	n := 0
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		sawPEM = true
		if b.Type != TypeCertificate {
			continue
		}
		n++
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse certificate %d: %w: %v", n, ErrMalformed, err)
		}
		certs = append(certs, c)
	}
	if len(certs) > 0 {
		return certs, nil
	}
	if sawPEM {
		return nil, fmt.Errorf("parse certificates: %w: no CERTIFICATE PEM block found", ErrMalformed)
	}
	if bytes.Contains(data, []byte("-----BEGIN")) {
		return nil, fmt.Errorf("parse certificates: %w: truncated or invalid PEM", ErrMalformed)
	}
	c, err := x509.ParseCertificate(data)
	if err != nil {
		return nil, fmt.Errorf("parse certificates: %w: input is neither PEM nor a DER certificate", ErrMalformed)
	}
	return []*x509.Certificate{c}, nil
}

// ReadCertificates reads a file with ParseCertificates; errors name the file.
func ReadCertificates(path string) ([]*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read certificates: %w", err)
	}
	certs, err := ParseCertificates(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return certs, nil
}

// ParseCSR parses a PEM ("CERTIFICATE REQUEST" or "NEW CERTIFICATE REQUEST") or DER CSR. It does not check the signature.
//
// The first CSR block is used; other PEM blocks are skipped. Errors wrap ErrMalformed.
func ParseCSR(data []byte) (*x509.CertificateRequest, error) {
	rest := data
	sawPEM := false
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		sawPEM = true
		if b.Type != TypeCertificateRequest && b.Type != TypeNewCertRequest {
			continue
		}
		csr, err := x509.ParseCertificateRequest(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse CSR: %w: %v", ErrMalformed, err)
		}
		return csr, nil
	}
	if sawPEM {
		return nil, fmt.Errorf("parse CSR: %w: no CERTIFICATE REQUEST PEM block found", ErrMalformed)
	}
	if bytes.Contains(data, []byte("-----BEGIN")) {
		return nil, fmt.Errorf("parse CSR: %w: truncated or invalid PEM", ErrMalformed)
	}
	csr, err := x509.ParseCertificateRequest(data)
	if err != nil {
		return nil, fmt.Errorf("parse CSR: %w: input is neither PEM nor a DER CSR", ErrMalformed)
	}
	return csr, nil
}

// EncodeCertificate returns the PEM of one certificate (64-col base64, trailing \n).
func EncodeCertificate(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: TypeCertificate, Bytes: c.Raw})
}

// EncodeCertificates concatenates EncodeCertificate of each.
func EncodeCertificates(cs ...*x509.Certificate) []byte {
	var buf bytes.Buffer
	for _, c := range cs {
		buf.Write(EncodeCertificate(c))
	}
	return buf.Bytes()
}

// EncodeCSR returns the PEM "CERTIFICATE REQUEST" block.
func EncodeCSR(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: TypeCertificateRequest, Bytes: der})
}

// Fingerprint returns the lowercase hex SHA-256 of c.Raw (step's root fingerprint).
func Fingerprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return hex.EncodeToString(sum[:])
}
