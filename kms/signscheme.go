package kms

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
)

// SignScheme is the signature a crypto.Signer is asked for: the key family,
// the hash of the digest, and for RSA whether PSS was asked (opts is
// *rsa.PSSOptions). Remote backends (awskms, azurekms) map it to their
// own algorithm names.
type SignScheme struct {
	RSA  bool // an RSA key; otherwise ECDSA
	Hash crypto.Hash
	PSS  bool
}

// SignSchemeOf is the SignScheme of a Sign call with opts on a key whose
// public half is pub; false for a key that is neither ECDSA nor RSA.
func SignSchemeOf(pub crypto.PublicKey, opts crypto.SignerOpts) (SignScheme, bool) {
	switch pub.(type) {
	case *ecdsa.PublicKey:
		return SignScheme{Hash: opts.HashFunc()}, true
	case *rsa.PublicKey:
		_, pss := opts.(*rsa.PSSOptions)
		return SignScheme{RSA: true, Hash: opts.HashFunc(), PSS: pss}, true
	}
	return SignScheme{}, false
}
