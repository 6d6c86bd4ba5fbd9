// Package softkms is the key manager for PEM key files: a key name is a
// file path, or "softkms:path=<file>".
package softkms

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/internal/fileutil"
	"github.com/mayfly-pki/mayfly/internal/keyutil"
	"github.com/mayfly-pki/mayfly/internal/pemutil"
	"github.com/mayfly-pki/mayfly/kms"
)

// maxKeyFile bounds a key file before it is parsed.
const maxKeyFile = 1 << 20

// KMS reads and writes PEM key files. The password (kms.Options.Pin)
// decrypts existing files and encrypts created ones; without one created
// keys are written unencrypted. Safe for concurrent use.
type KMS struct {
	password []byte
}

var _ kms.KeyManager = (*KMS)(nil)

// New is the kms.Opener for "softkms".
func New(_ context.Context, o kms.Options) (kms.KeyManager, error) {
	var pw []byte
	if o.Pin != "" {
		pw = []byte(o.Pin)
	}
	return &KMS{password: pw}, nil
}

// Path returns the file a key name points at.
func Path(name string) (string, error) {
	if kms.Scheme(name) == "" {
		if name == "" {
			return "", errs.E(errs.BadRequest, "the key name is empty", nil)
		}
		return name, nil
	}
	u, err := kms.ParseURI(name)
	if err != nil {
		return "", errs.E(errs.BadRequest, err.Error(), nil)
	}
	if u.Scheme != "softkms" {
		return "", errs.E(errs.BadRequest, fmt.Sprintf("softkms cannot open a %s: key", u.Scheme), nil)
	}
	p := u.Get("path")
	if p == "" {
		return "", errs.E(errs.BadRequest, "softkms key URI has no path attribute", nil)
	}
	return p, nil
}

func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, errs.E(errs.NotFound, fmt.Sprintf("key file %s does not exist", path), err)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(b) > maxKeyFile {
		return nil, errs.E(errs.BadRequest, fmt.Sprintf("key file %s is larger than %d bytes", path, maxKeyFile), nil)
	}
	return b, nil
}

// readKey reads the key file of the URI name, and returns its path too.
func readKey(name string) (string, []byte, error) {
	path, err := Path(name)
	if err != nil {
		return "", nil, err
	}
	b, err := readFile(path)
	return path, b, err
}

// GetPublicKey reads a private or public key file and returns its public key.
func (k *KMS) GetPublicKey(_ context.Context, name string) (crypto.PublicKey, error) {
	path, b, err := readKey(name)
	if err != nil {
		return nil, err
	}
	if pub, err := pemutil.ParsePublicKey(b); err == nil {
		return pub, nil
	}
	s, err := pemutil.ParsePrivateKey(b, k.password)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s.Public(), nil
}

// CreateSigner reads and decrypts the key file.
func (k *KMS) CreateSigner(_ context.Context, name string) (crypto.Signer, error) {
	path, b, err := readKey(name)
	if err != nil {
		return nil, err
	}
	s, err := pemutil.ParsePrivateKey(b, k.password)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// CreateKey generates a key and writes it to the file (0600, atomically). It
// refuses to overwrite an existing file.
func (k *KMS) CreateKey(_ context.Context, req kms.CreateKeyRequest) (*kms.CreateKeyResponse, error) {
	path, err := Path(req.Name)
	if err != nil {
		return nil, err
	}
	kty, crv, size, err := req.Algorithm.KeyParams(req.Bits)
	if err != nil {
		return nil, errs.E(errs.BadRequest, err.Error(), nil)
	}
	if _, err := os.Lstat(path); err == nil {
		return nil, errs.E(errs.Conflict, fmt.Sprintf("key file %s already exists", path), nil)
	}
	key, err := keyutil.Generate(kty, crv, size)
	if err != nil {
		return nil, err
	}
	block, err := pemutil.MarshalPrivateKey(key, k.password)
	if err != nil {
		return nil, err
	}
	if err := fileutil.WriteFile(path, pemEncode(block), 0o600); err != nil {
		return nil, err
	}
	return &kms.CreateKeyResponse{Name: req.Name, PublicKey: key.Public()}, nil
}

// Close does nothing.
func (k *KMS) Close() error { return nil }
