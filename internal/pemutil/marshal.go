package pemutil

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
)

// normalizePrivateKey accepts the supported private key types and returns
// ed25519 keys as values.
func normalizePrivateKey(key crypto.PrivateKey) (crypto.PrivateKey, error) {
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		if k == nil {
			return nil, fmt.Errorf("%w: nil ECDSA key", ErrUnsupported)
		}
		return k, nil
	case *rsa.PrivateKey:
		if k == nil {
			return nil, fmt.Errorf("%w: nil RSA key", ErrUnsupported)
		}
		return k, nil
	case ed25519.PrivateKey:
		if len(k) != ed25519.PrivateKeySize {
			return nil, fmt.Errorf("%w: Ed25519 key of %d bytes", ErrMalformed, len(k))
		}
		return k, nil
	case *ed25519.PrivateKey:
		if k == nil {
			return nil, fmt.Errorf("%w: nil Ed25519 key", ErrUnsupported)
		}
		return normalizePrivateKey(*k)
	default:
		return nil, fmt.Errorf("%w: private key type %T", ErrUnsupported, key)
	}
}

// MarshalPrivateKey serializes a key in step's flavour: ECDSA → "EC PRIVATE KEY", RSA → "RSA PRIVATE KEY",
// Ed25519 → "PRIVATE KEY" (PKCS#8). With a non-empty password: ECDSA/RSA use legacy OpenSSL encryption
// AES-256-CBC (Proc-Type/DEK-Info, random 16-byte IV, uppercase hex), Ed25519 uses "ENCRYPTED PRIVATE KEY"
// PKCS#8 PBES2, PBKDF2-HMAC-SHA256, 600000 iterations, 16-byte salt, AES-256-CBC.
//
// key is *ecdsa.PrivateKey, *rsa.PrivateKey or ed25519.PrivateKey (or a
// pointer to one); other types give ErrUnsupported. Encode the result with
// pem.EncodeToMemory.
func MarshalPrivateKey(key crypto.PrivateKey, password []byte) (*pem.Block, error) {
	return marshalPrivateKey(key, password, DefaultPBKDF2Iterations)
}

func marshalPrivateKey(key crypto.PrivateKey, password []byte, iterations int) (*pem.Block, error) {
	k, err := normalizePrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("marshal private key: %w", err)
	}
	var (
		typ string
		der []byte
	)
	switch k := k.(type) {
	case *ecdsa.PrivateKey:
		typ = TypeECPrivateKey
		if der, err = x509.MarshalECPrivateKey(k); err != nil {
			return nil, fmt.Errorf("marshal EC private key: %w", err)
		}
	case *rsa.PrivateKey:
		typ = TypeRSAPrivateKey
		der = x509.MarshalPKCS1PrivateKey(k)
	default:
		return marshalPKCS8PrivateKey(k, password, iterations)
	}
	if len(password) == 0 {
		return &pem.Block{Type: typ, Bytes: der}, nil
	}
	b, err := encryptLegacy(typ, der, password)
	if err != nil {
		return nil, fmt.Errorf("marshal private key: %w", err)
	}
	return b, nil
}

// MarshalPKCS8PrivateKey always writes PKCS#8 ("PRIVATE KEY", or "ENCRYPTED PRIVATE KEY" with a password, as above).
//
// Accepted key types are those of MarshalPrivateKey.
func MarshalPKCS8PrivateKey(key crypto.PrivateKey, password []byte) (*pem.Block, error) {
	return marshalPKCS8PrivateKey(key, password, DefaultPBKDF2Iterations)
}

func marshalPKCS8PrivateKey(key crypto.PrivateKey, password []byte, iterations int) (*pem.Block, error) {
	k, err := normalizePrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("marshal PKCS#8 private key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, fmt.Errorf("marshal PKCS#8 private key: %w", err)
	}
	if len(password) == 0 {
		return &pem.Block{Type: TypePrivateKey, Bytes: der}, nil
	}
	enc, err := encryptPKCS8(der, password, iterations)
	if err != nil {
		return nil, err
	}
	return &pem.Block{Type: TypeEncryptedPrivateKey, Bytes: enc}, nil
}

// MarshalPublicKey returns a "PUBLIC KEY" (PKIX) block.
//
// pub is *ecdsa.PublicKey, *rsa.PublicKey or ed25519.PublicKey; a private key
// or signer is accepted and its public half written.
func MarshalPublicKey(pub crypto.PublicKey) (*pem.Block, error) {
	if s, ok := pub.(crypto.Signer); ok {
		pub = s.Public()
	}
	if p, ok := pub.(*ed25519.PublicKey); ok && p != nil {
		pub = *p
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("marshal public key: %w: %v", ErrUnsupported, err)
	}
	return &pem.Block{Type: TypePublicKey, Bytes: der}, nil
}
