// Package keyutil generates private keys and describes public keys the way
// step and step-ca name them.
//
// All functions are stateless and safe for concurrent use.
package keyutil

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
)

// DefaultRSASize is the RSA modulus size used when Generate is given size 0.
const DefaultRSASize = 2048

// MinRSASize is the smallest RSA modulus Generate accepts.
const MinRSASize = 2048

// ErrUnsupportedKey is returned (wrapped) when a key type, curve or size is
// not supported.
var ErrUnsupportedKey = errors.New("unsupported key")

// Generate makes a new private key. kty: "EC" (crv "P-256" default, "P-384", "P-521"), "RSA" (size default
// 2048; < 2048 is an error), "OKP" (crv "Ed25519" default). Case-insensitive kty/crv. Clear error otherwise.
//
// An empty kty means "EC". For RSA, crv must be empty; for EC and OKP, size must be 0.
// Errors wrap ErrUnsupportedKey. The returned signer is *ecdsa.PrivateKey,
// *rsa.PrivateKey or ed25519.PrivateKey.
func Generate(kty, crv string, size int) (crypto.Signer, error) {
	switch strings.ToUpper(kty) {
	case "", "EC":
		if size != 0 {
			return nil, fmt.Errorf("generate EC key: size %d: %w (size applies to RSA only)", size, ErrUnsupportedKey)
		}
		curve, err := ecCurve(crv)
		if err != nil {
			return nil, err
		}
		k, err := ecdsa.GenerateKey(curve, rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("generate EC %s key: %w", curve.Params().Name, err)
		}
		return k, nil
	case "RSA":
		if crv != "" {
			return nil, fmt.Errorf("generate RSA key: curve %q: %w (curve applies to EC and OKP only)", crv, ErrUnsupportedKey)
		}
		if size == 0 {
			size = DefaultRSASize
		}
		if size < MinRSASize {
			return nil, fmt.Errorf("generate RSA key: size %d: %w (minimum is %d bits)", size, ErrUnsupportedKey, MinRSASize)
		}
		k, err := rsa.GenerateKey(rand.Reader, size)
		if err != nil {
			return nil, fmt.Errorf("generate RSA %d key: %w", size, err)
		}
		return k, nil
	case "OKP":
		if size != 0 {
			return nil, fmt.Errorf("generate OKP key: size %d: %w (size applies to RSA only)", size, ErrUnsupportedKey)
		}
		if crv != "" && !strings.EqualFold(crv, "Ed25519") {
			return nil, fmt.Errorf("generate OKP key: curve %q: %w (supported: Ed25519)", crv, ErrUnsupportedKey)
		}
		_, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("generate Ed25519 key: %w", err)
		}
		return k, nil
	default:
		return nil, fmt.Errorf("generate key: key type %q: %w (supported: EC, RSA, OKP)", kty, ErrUnsupportedKey)
	}
}

func ecCurve(crv string) (elliptic.Curve, error) {
	switch strings.ToUpper(crv) {
	case "", "P-256":
		return elliptic.P256(), nil
	case "P-384":
		return elliptic.P384(), nil
	case "P-521":
		return elliptic.P521(), nil
	default:
		return nil, fmt.Errorf("generate EC key: curve %q: %w (supported: P-256, P-384, P-521)", crv, ErrUnsupportedKey)
	}
}

// publicOf returns the public half when given a private key or signer, and
// the argument otherwise.
func publicOf(k crypto.PublicKey) crypto.PublicKey {
	switch v := k.(type) {
	case *ed25519.PrivateKey:
		if v == nil {
			return nil
		}
		return v.Public()
	case crypto.Signer:
		return v.Public()
	case *ed25519.PublicKey:
		if v == nil {
			return nil
		}
		return *v
	}
	return k
}

// PublicKeyDescription returns "ECDSA P-256", "RSA 2048", "Ed25519" (as step-ca logs "public-key").
//
// Private keys and signers are described by their public half. Unknown types
// give "unknown <Go type>".
func PublicKeyDescription(pub crypto.PublicKey) string {
	switch k := publicOf(pub).(type) {
	case *ecdsa.PublicKey:
		if k == nil || k.Curve == nil {
			return "ECDSA"
		}
		return "ECDSA " + k.Curve.Params().Name
	case *rsa.PublicKey:
		if k == nil || k.N == nil {
			return "RSA"
		}
		return fmt.Sprintf("RSA %d", k.N.BitLen())
	case ed25519.PublicKey:
		return "Ed25519"
	default:
		return fmt.Sprintf("unknown %T", pub)
	}
}

// SignatureAlgorithm returns the x509 signature algorithm a CA key of this type signs with
// (ECDSA P-256→ECDSAWithSHA256, P-384→ECDSAWithSHA384, P-521→ECDSAWithSHA512, RSA→SHA256WithRSA, Ed25519→PureEd25519).
//
// Private keys and signers are accepted too. Unknown types and curves give
// x509.UnknownSignatureAlgorithm.
func SignatureAlgorithm(pub crypto.PublicKey) x509.SignatureAlgorithm {
	switch k := publicOf(pub).(type) {
	case *ecdsa.PublicKey:
		if k == nil || k.Curve == nil {
			return x509.UnknownSignatureAlgorithm
		}
		switch k.Curve {
		case elliptic.P256():
			return x509.ECDSAWithSHA256
		case elliptic.P384():
			return x509.ECDSAWithSHA384
		case elliptic.P521():
			return x509.ECDSAWithSHA512
		}
		return x509.UnknownSignatureAlgorithm
	case *rsa.PublicKey:
		return x509.SHA256WithRSA
	case ed25519.PublicKey:
		return x509.PureEd25519
	default:
		return x509.UnknownSignatureAlgorithm
	}
}

// Equal reports whether two public keys are equal.
//
// Private keys and signers are compared by their public half, so a private
// key equals its own public key. Nil or unknown types are never equal.
func Equal(a, b crypto.PublicKey) bool {
	pa, pb := publicOf(a), publicOf(b)
	if pa == nil || pb == nil {
		return false
	}
	eq, ok := pa.(interface{ Equal(crypto.PublicKey) bool })
	if !ok {
		return false
	}
	return eq.Equal(pb)
}
