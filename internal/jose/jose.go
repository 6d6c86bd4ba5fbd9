// Package jose holds the JWK/JWE helpers step and step-ca share: RFC 7638
// thumbprints used as provisioner key IDs, signing algorithm selection, and
// the password-encrypted private JWK ("encryptedKey", wire-spec §1.6).
//
// All functions are stateless and safe for concurrent use.
package jose

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"

	jose "github.com/go-jose/go-jose/v4"
)

// ErrUnsupportedKey is returned (wrapped) for key types that have no JWS algorithm here.
var ErrUnsupportedKey = errors.New("unsupported key type")

// Thumbprint returns the RFC 7638 SHA-256 thumbprint, base64url without padding, of the key's public part.
func Thumbprint(key *jose.JSONWebKey) (string, error) {
	if key == nil || key.Key == nil {
		return "", fmt.Errorf("jwk thumbprint: %w: empty key", ErrUnsupportedKey)
	}
	sum, err := key.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("jwk thumbprint: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(sum), nil
}

// SigningAlgorithm returns the JWS alg for a key: ES256/ES384/ES512 by curve, RS256 for RSA, EdDSA for Ed25519.
//
// Private keys and signers are accepted and described by their public half.
// Other key types and curves give ErrUnsupportedKey.
func SigningAlgorithm(key crypto.PublicKey) (jose.SignatureAlgorithm, error) {
	switch k := key.(type) {
	case *ed25519.PrivateKey:
		if k != nil {
			key = k.Public()
		}
	case *ed25519.PublicKey:
		if k != nil {
			key = *k
		}
	case crypto.Signer:
		key = k.Public()
	}
	switch k := key.(type) {
	case *ecdsa.PublicKey:
		if k == nil || k.Curve == nil {
			break
		}
		switch k.Curve {
		case elliptic.P256():
			return jose.ES256, nil
		case elliptic.P384():
			return jose.ES384, nil
		case elliptic.P521():
			return jose.ES512, nil
		}
		return "", fmt.Errorf("jws algorithm: %w: ECDSA curve %s", ErrUnsupportedKey, k.Curve.Params().Name)
	case *rsa.PublicKey:
		if k != nil {
			return jose.RS256, nil
		}
	case ed25519.PublicKey:
		if len(k) == ed25519.PublicKeySize {
			return jose.EdDSA, nil
		}
	}
	return "", fmt.Errorf("jws algorithm: %w: %T", ErrUnsupportedKey, key)
}

// NewSigningJWK wraps a private key as a JWK with use "sig", alg from SigningAlgorithm, kid = Thumbprint.
//
// key must be *ecdsa.PrivateKey, *rsa.PrivateKey or ed25519.PrivateKey.
func NewSigningJWK(key crypto.Signer) (*jose.JSONWebKey, error) {
	var k any = key
	switch v := key.(type) {
	case *ecdsa.PrivateKey, *rsa.PrivateKey, ed25519.PrivateKey:
	case *ed25519.PrivateKey:
		k = *v
	default:
		return nil, fmt.Errorf("new signing JWK: %w: %T", ErrUnsupportedKey, key)
	}
	alg, err := SigningAlgorithm(key)
	if err != nil {
		return nil, fmt.Errorf("new signing JWK: %w", err)
	}
	jwk := &jose.JSONWebKey{Key: k, Use: "sig", Algorithm: string(alg)}
	kid, err := Thumbprint(jwk)
	if err != nil {
		return nil, fmt.Errorf("new signing JWK: %w", err)
	}
	jwk.KeyID = kid
	return jwk, nil
}
