// Package keyfile reads and writes private key files for step commands: PEM in
// step's flavours (wire-spec §1.5), passwords from a file or the terminal, and
// errors that name the file but never contain key material or passwords.
// Functions are stateless; prompts use the terminal (see package ui).
package keyfile

import (
	"crypto"
	"encoding/pem"
	"errors"
	"fmt"

	"github.com/mayfly-pki/mayfly/cmd/step/internal/ui"
	"github.com/mayfly-pki/mayfly/internal/fileutil"
	"github.com/mayfly-pki/mayfly/internal/pemutil"
)

// ReadPrivateKey reads the private key in path. An encrypted key is decrypted with
// the password in pw.File, or one prompted for ("Please enter the password to
// decrypt <path>:"); without a terminal the error names pw.Flag. Errors name the
// file: a wrong password wraps pemutil.ErrBadPassword, a missing one
// pemutil.ErrPasswordRequired.
func ReadPrivateKey(path string, pw ui.PasswordFile) (crypto.Signer, error) {
	data, err := ui.ReadInput(path)
	if err != nil {
		return nil, err
	}
	return ParsePrivateKey(path, data, pw)
}

// ParsePrivateKey is ReadPrivateKey for data already read from name.
func ParsePrivateKey(name string, data []byte, pw ui.PasswordFile) (crypto.Signer, error) {
	var pass []byte
	if pemutil.IsEncrypted(data) {
		var err error
		if pass, err = ui.ReadPassword(pw, fmt.Sprintf("Please enter the password to decrypt %s:", name)); err != nil {
			return nil, fmt.Errorf("cannot decrypt %s: %w", name, err)
		}
	}
	key, err := pemutil.ParsePrivateKey(data, pass)
	if err != nil {
		switch {
		case errors.Is(err, pemutil.ErrBadPassword):
			return nil, fmt.Errorf("error decrypting %s: %w", name, pemutil.ErrBadPassword)
		case errors.Is(err, pemutil.ErrPasswordRequired):
			return nil, fmt.Errorf("error decrypting %s: %w", name, pemutil.ErrPasswordRequired)
		}
		return nil, fmt.Errorf("error reading private key %s: %w", name, err)
	}
	return key, nil
}

// NewPassword returns the password to encrypt a new private key: nil when
// noPassword (the caller has checked --insecure), the content of pw.File, or
// one read from the terminal ("Please enter the password to encrypt the private
// key:"). An empty password is an error. Callers have --no-password and
// --insecure.
func NewPassword(pw ui.PasswordFile, noPassword bool) ([]byte, error) {
	if noPassword {
		return nil, nil
	}
	if pw.File != "" {
		pass, err := fileutil.ReadPasswordFile(pw.File)
		if err != nil {
			return nil, fmt.Errorf("error reading encrypting password from file: %w", err)
		}
		return pass, nil
	}
	pass, err := ui.ReadPassword(ui.PasswordFile{}, "Please enter the password to encrypt the private key:")
	if err != nil {
		if errors.Is(err, ui.ErrNotTerminal) {
			return nil, fmt.Errorf("a password is required to encrypt the private key%s, or --no-password --insecure", pw.Advice())
		}
		return nil, err
	}
	return pass, nil
}

// EncodePrivateKey returns the PEM of key in step's flavour (pemutil.MarshalPrivateKey),
// encrypted when password is not empty.
func EncodePrivateKey(key crypto.PrivateKey, password []byte) ([]byte, error) {
	block, err := pemutil.MarshalPrivateKey(key, password)
	if err != nil {
		return nil, fmt.Errorf("error serializing private key: %w", err)
	}
	return pem.EncodeToMemory(block), nil
}

// EncodePublicKey returns the "PUBLIC KEY" PEM of pub.
func EncodePublicKey(pub crypto.PublicKey) ([]byte, error) {
	block, err := pemutil.MarshalPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("error serializing public key: %w", err)
	}
	return pem.EncodeToMemory(block), nil
}
