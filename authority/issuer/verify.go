package issuer

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"errors"
)

// inProcess reports whether the signer is a software key held in this
// process. Only those skip the check of each signature in the direct
// encoder (New checks one signature at start); any other signer (an HSM,
// a cloud KMS, a wrapper) may return a wrong or corrupted signature at any
// time, so every signature it makes is verified before the certificate is
// stored or returned (docs/kms.md).
func inProcess(s crypto.Signer) bool {
	switch s.(type) {
	case *ecdsa.PrivateKey, *rsa.PrivateKey, ed25519.PrivateKey, *ed25519.PrivateKey:
		return true
	}
	return false
}

// errBadSignature is returned when an external signer's signature does not
// verify with the intermediate's public key.
var errBadSignature = errors.New("the key manager returned a signature that does not verify with the intermediate's public key")

// verifySignature checks sig over tbs with the issuer's public key, as
// x509.CreateCertificate does after signing.
func (i *Issuer) verifySignature(tbs, sig []byte) error {
	switch pub := i.cert.PublicKey.(type) {
	case *ecdsa.PublicKey:
		if ecdsa.VerifyASN1(pub, digest(i.params.hash, tbs), sig) {
			return nil
		}
	case *rsa.PublicKey:
		if rsa.VerifyPKCS1v15(pub, i.params.hash, digest(i.params.hash, tbs), sig) == nil {
			return nil
		}
	case ed25519.PublicKey:
		if ed25519.Verify(pub, tbs, sig) {
			return nil
		}
	}
	return errBadSignature
}
