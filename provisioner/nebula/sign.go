package nebula

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/slackhq/nebula/cert"

	"github.com/mayfly-pki/mayfly/internal/xeddsa"
	"github.com/mayfly-pki/mayfly/provisioner/token"
)

// xSigner signs tokens with an X25519 key (XEdDSA) for go-jose.
type xSigner []byte

// Public implements jose.OpaqueSigner: an X25519 key has no JWK form here.
func (s xSigner) Public() *jose.JSONWebKey { return nil }

// Algs implements jose.OpaqueSigner.
func (s xSigner) Algs() []jose.SignatureAlgorithm { return []jose.SignatureAlgorithm{token.XEdDSA} }

// SignPayload implements jose.OpaqueSigner.
func (s xSigner) SignPayload(payload []byte, alg jose.SignatureAlgorithm) ([]byte, error) {
	if alg != token.XEdDSA {
		return nil, jose.ErrUnsupportedAlgorithm
	}
	return xeddsa.Sign(rand.Reader, s, payload)
}

// SigningKey returns the key that signs the tokens of the host certificate
// crt with its private key priv (nebula-cert's raw key): XEdDSA for a
// Curve25519 certificate, ES256 for a P-256 one, as step signs them. The
// key must be the certificate's.
func SigningKey(crt cert.Certificate, curve cert.Curve, priv []byte) (*jose.JSONWebKey, error) {
	if crt.IsCA() {
		return nil, errors.New("the nebula certificate is a CA certificate, not a host certificate")
	}
	if err := crt.VerifyPrivateKey(curve, priv); err != nil {
		return nil, fmt.Errorf("the nebula key is not the key of the certificate: %w", err)
	}
	return Key(curve, priv)
}

// Key returns the token signing key of the nebula private key priv of
// curve, without checking it against a certificate (see SigningKey).
func Key(curve cert.Curve, priv []byte) (*jose.JSONWebKey, error) {
	switch curve {
	case cert.Curve_CURVE25519:
		if len(priv) != xeddsa.PrivateKeySize {
			return nil, errors.New("invalid X25519 private key")
		}
		return &jose.JSONWebKey{Key: xSigner(append([]byte(nil), priv...)), Algorithm: string(token.XEdDSA)}, nil
	case cert.Curve_P256:
		k, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), priv)
		if err != nil {
			return nil, err
		}
		return &jose.JSONWebKey{Key: k, Algorithm: string(jose.ES256)}, nil
	}
	return nil, fmt.Errorf("unsupported nebula curve %s", curve)
}

// HeaderValue is the nebula header of crt's tokens: the standard base64 of
// its marshalled bytes.
func HeaderValue(crt cert.Certificate) (string, error) {
	b, err := crt.Marshal()
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// Sign mints a token over claims signed by the host certificate's key, with
// the certificate in the nebula header, as `step ca token --nebula-cert
// --nebula-key` does.
func Sign(crt cert.Certificate, key *jose.JSONWebKey, claims *token.Claims) (string, error) {
	h, err := HeaderValue(crt)
	if err != nil {
		return "", err
	}
	return token.Sign(key, claims, map[string]any{Header: h})
}
