package pemutil

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"fmt"

	"golang.org/x/crypto/ssh"
)

// ParsePublicKey reads "PUBLIC KEY", "RSA PUBLIC KEY", a "CERTIFICATE" or "CERTIFICATE REQUEST" (their key),
// or an OpenSSH authorized_keys line.
//
// The first PEM block of a recognised type is used; other blocks are
// skipped. Input without PEM is tried as an authorized_keys line, then as DER
// PKIX. Results are *ecdsa.PublicKey, *rsa.PublicKey or ed25519.PublicKey
// (other key types from certificates are returned as the x509 package parsed
// them). Errors wrap ErrMalformed or ErrUnsupported.
func ParsePublicKey(data []byte) (crypto.PublicKey, error) {
	rest := data
	sawPEM := false
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		sawPEM = true
		var (
			pub crypto.PublicKey
			err error
		)
		switch b.Type {
		case TypePublicKey:
			pub, err = x509.ParsePKIXPublicKey(b.Bytes)
		case TypeRSAPublicKey:
			pub, err = x509.ParsePKCS1PublicKey(b.Bytes)
		case TypeCertificate:
			var c *x509.Certificate
			if c, err = x509.ParseCertificate(b.Bytes); err == nil {
				pub = c.PublicKey
			}
		case TypeCertificateRequest, TypeNewCertRequest:
			var csr *x509.CertificateRequest
			if csr, err = x509.ParseCertificateRequest(b.Bytes); err == nil {
				pub = csr.PublicKey
			}
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("parse public key: %s: %w: %v", b.Type, ErrMalformed, err)
		}
		return pub, nil
	}
	if sawPEM {
		return nil, fmt.Errorf("parse public key: %w: no public key, certificate or CSR PEM block found", ErrMalformed)
	}
	if bytes.Contains(data, []byte("-----BEGIN")) {
		return nil, fmt.Errorf("parse public key: %w: truncated or invalid PEM", ErrMalformed)
	}
	if sshPub, _, _, _, err := ssh.ParseAuthorizedKey(data); err == nil {
		cpk, ok := sshPub.(ssh.CryptoPublicKey)
		if !ok {
			return nil, fmt.Errorf("parse public key: %w: SSH key type %s", ErrUnsupported, sshPub.Type())
		}
		pub := cpk.CryptoPublicKey()
		if p, ok := pub.(*ed25519.PublicKey); ok {
			return *p, nil
		}
		return pub, nil
	}
	if pub, err := x509.ParsePKIXPublicKey(data); err == nil {
		return pub, nil
	}
	return nil, fmt.Errorf("parse public key: %w: input is not PEM, an authorized_keys line or DER", ErrMalformed)
}
