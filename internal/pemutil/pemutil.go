// Package pemutil reads and writes private keys, public keys, certificates
// and CSRs in the PEM/DER flavours the step CLI, step-ca and OpenSSL use
// (wire-spec §1.5).
//
// Supported private key encodings: SEC1 ("EC PRIVATE KEY"), PKCS#1 ("RSA
// PRIVATE KEY"), PKCS#8 ("PRIVATE KEY"), PKCS#8 PBES2 ("ENCRYPTED PRIVATE
// KEY"), OpenSSL legacy PEM encryption (Proc-Type/DEK-Info headers) and
// OpenSSH ("OPENSSH PRIVATE KEY").
//
// All functions are stateless and safe for concurrent use. Error messages
// name the PEM type or field that failed and never contain key material or
// passwords.
package pemutil

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"

	"golang.org/x/crypto/ssh"
)

// ErrPasswordRequired is returned (wrapped) when password is nil/empty for an encrypted key.
var ErrPasswordRequired = errors.New("key is encrypted and needs a password")

// ErrBadPassword is returned (wrapped) on decryption failure.
var ErrBadPassword = errors.New("wrong password or corrupt key")

// ErrMalformed is returned (wrapped) when data is not well-formed PEM/DER of
// the expected kind (truncated, garbage, bad ASN.1, missing headers).
var ErrMalformed = errors.New("malformed key or certificate data")

// ErrUnsupported is returned (wrapped) for well-formed input that uses an
// algorithm, cipher or key type this package does not handle.
var ErrUnsupported = errors.New("unsupported algorithm or key type")

// PEM block types.
const (
	TypeECPrivateKey        = "EC PRIVATE KEY"
	TypeRSAPrivateKey       = "RSA PRIVATE KEY"
	TypePrivateKey          = "PRIVATE KEY"
	TypeEncryptedPrivateKey = "ENCRYPTED PRIVATE KEY"
	TypeOpenSSHPrivateKey   = "OPENSSH PRIVATE KEY"
	TypePublicKey           = "PUBLIC KEY"
	TypeRSAPublicKey        = "RSA PUBLIC KEY"
	TypeCertificate         = "CERTIFICATE"
	TypeCertificateRequest  = "CERTIFICATE REQUEST"
	TypeNewCertRequest      = "NEW CERTIFICATE REQUEST"
)

func isPrivateKeyType(t string) bool {
	switch t {
	case TypeECPrivateKey, TypeRSAPrivateKey, TypePrivateKey, TypeEncryptedPrivateKey, TypeOpenSSHPrivateKey:
		return true
	}
	return false
}

// firstPrivateKeyBlock returns the first PEM block holding a private key,
// skipping any other blocks (e.g. "EC PARAMETERS"). It returns nil if data
// holds PEM blocks but none is a private key, and (nil, false) if data holds
// no PEM at all.
func firstPrivateKeyBlock(data []byte) (*pem.Block, bool) {
	sawPEM := false
	rest := data
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return nil, sawPEM
		}
		sawPEM = true
		if isPrivateKeyType(b.Type) {
			return b, true
		}
	}
}

// ParsePrivateKey parses one PEM private key: "EC PRIVATE KEY" (SEC1), "RSA PRIVATE KEY" (PKCS#1),
// "PRIVATE KEY" (PKCS#8), "ENCRYPTED PRIVATE KEY" (PKCS#8 PBES2: PBKDF2 with HMAC-SHA1/SHA256/SHA384/SHA512,
// AES-128/192/256-CBC and DES-EDE3-CBC), legacy OpenSSL-encrypted PEM (Proc-Type: 4,ENCRYPTED + DEK-Info with
// AES-128/192/256-CBC, DES-EDE3-CBC, DES-CBC; key = EVP_BytesToKey MD5 of password+IV[:8]),
// and "OPENSSH PRIVATE KEY" (via golang.org/x/crypto/ssh, with passphrase). Skips leading non-key PEM blocks
// (e.g. "EC PARAMETERS"). Returns ecdsa/rsa/ed25519 private keys as crypto.Signer.
//
// The concrete types are *ecdsa.PrivateKey, *rsa.PrivateKey and
// ed25519.PrivateKey (a value, never a pointer). Data without any PEM block
// is tried as unencrypted DER (PKCS#8, SEC1, PKCS#1). password is ignored for
// unencrypted keys.
//
// Errors: ErrPasswordRequired (key encrypted, password empty), ErrBadPassword
// (decryption failed or decrypted data is not a key), ErrMalformed (no key,
// truncated or garbage input), ErrUnsupported (unknown cipher/KDF/key type);
// all wrapped.
func ParsePrivateKey(data []byte, password []byte) (crypto.Signer, error) {
	return parsePrivateKey(data, password, workLimits{pbkdf2Iterations: maxPBKDF2Iterations, bcryptRounds: maxOpenSSHKDFRounds})
}

// workLimits bounds the key-derivation work an input file can demand.
// ParsePrivateKey uses maxPBKDF2Iterations and maxOpenSSHKDFRounds (about
// 17x step's PBKDF2 count and 256x ssh-keygen's default rounds); fuzz tests
// pass lower ones.
type workLimits struct {
	pbkdf2Iterations int    // PKCS#8 PBES2 iteration count
	bcryptRounds     uint32 // OpenSSH bcrypt_pbkdf rounds
}

func parsePrivateKey(data []byte, password []byte, lim workLimits) (crypto.Signer, error) {
	b, sawPEM := firstPrivateKeyBlock(data)
	if b == nil {
		if sawPEM {
			return nil, fmt.Errorf("parse private key: %w: no private key PEM block found", ErrMalformed)
		}
		if bytes.Contains(data, []byte("-----BEGIN")) {
			return nil, fmt.Errorf("parse private key: %w: truncated or invalid PEM", ErrMalformed)
		}
		k, err := parseDERPrivateKey(data)
		if err != nil {
			return nil, fmt.Errorf("parse private key: %w: input is neither PEM nor a DER private key", ErrMalformed)
		}
		return k, nil
	}
	k, err := parsePrivateKeyBlock(b, password, lim)
	if err != nil {
		return nil, fmt.Errorf("parse private key: %w", err)
	}
	return k, nil
}

func parsePrivateKeyBlock(b *pem.Block, password []byte, lim workLimits) (crypto.Signer, error) {
	if b.Type == TypeOpenSSHPrivateKey {
		return parseOpenSSH(b, password, lim.bcryptRounds)
	}
	der := b.Bytes
	typ := b.Type
	encrypted := false
	if isLegacyEncrypted(b) {
		var err error
		if der, err = decryptLegacy(b, password); err != nil {
			return nil, err
		}
		encrypted = true
	}
	if typ == TypeEncryptedPrivateKey {
		var err error
		if der, err = decryptPKCS8(der, password, lim.pbkdf2Iterations); err != nil {
			return nil, err
		}
		typ = TypePrivateKey
		encrypted = true
	}
	var (
		key any
		err error
	)
	switch typ {
	case TypeECPrivateKey:
		key, err = x509.ParseECPrivateKey(der)
	case TypeRSAPrivateKey:
		key, err = x509.ParsePKCS1PrivateKey(der)
	case TypePrivateKey:
		key, err = x509.ParsePKCS8PrivateKey(der)
	}
	if err != nil {
		if encrypted {
			// Wrong passwords pass the padding check about 1 time in 256;
			// the decrypted bytes then fail to parse.
			return nil, fmt.Errorf("%s: %w", b.Type, ErrBadPassword)
		}
		return nil, fmt.Errorf("%s: %w: %v", b.Type, ErrMalformed, err)
	}
	s, err := asSigner(key)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Type, err)
	}
	return s, nil
}

func parseDERPrivateKey(der []byte) (crypto.Signer, error) {
	if k, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		return asSigner(k)
	}
	if k, err := x509.ParseECPrivateKey(der); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS1PrivateKey(der)
	if err != nil {
		return nil, err
	}
	return k, nil
}

func parseOpenSSH(b *pem.Block, password []byte, maxRounds uint32) (crypto.Signer, error) {
	raw := pem.EncodeToMemory(&pem.Block{Type: b.Type, Bytes: b.Bytes})
	key, err := ssh.ParseRawPrivateKey(raw)
	var missing *ssh.PassphraseMissingError
	if errors.As(err, &missing) {
		if len(password) == 0 {
			return nil, fmt.Errorf("%s: %w", b.Type, ErrPasswordRequired)
		}
		if err := checkOpenSSHRounds(b.Bytes, maxRounds); err != nil {
			return nil, err
		}
		key, err = ssh.ParseRawPrivateKeyWithPassphrase(raw, password)
		if errors.Is(err, x509.IncorrectPasswordError) {
			return nil, fmt.Errorf("%s: %w", b.Type, ErrBadPassword)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %v", b.Type, ErrMalformed, err)
	}
	s, err := asSigner(key)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Type, err)
	}
	return s, nil
}

// asSigner narrows a parsed key to the three supported signer types.
func asSigner(key any) (crypto.Signer, error) {
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		return k, nil
	case *rsa.PrivateKey:
		return k, nil
	case ed25519.PrivateKey:
		return k, nil
	case *ed25519.PrivateKey:
		return *k, nil
	default:
		return nil, fmt.Errorf("%w: private key type %T", ErrUnsupported, key)
	}
}

// IsEncrypted reports whether data holds an encrypted PEM private key (either flavour, or encrypted OpenSSH).
//
// Only the first private key block is examined; non-key blocks before it are
// skipped. Malformed data gives false.
func IsEncrypted(data []byte) bool {
	b, _ := firstPrivateKeyBlock(data)
	if b == nil {
		return false
	}
	switch {
	case b.Type == TypeEncryptedPrivateKey, isLegacyEncrypted(b):
		return true
	case b.Type == TypeOpenSSHPrivateKey:
		_, err := ssh.ParseRawPrivateKey(pem.EncodeToMemory(&pem.Block{Type: b.Type, Bytes: b.Bytes}))
		var missing *ssh.PassphraseMissingError
		return errors.As(err, &missing)
	}
	return false
}
