package ca

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/urfave/cli/v2"

	"github.com/mayfly-pki/mayfly/cmd/step/internal/ui"
	mjose "github.com/mayfly-pki/mayfly/internal/jose"
	"github.com/mayfly-pki/mayfly/internal/keyutil"
	"github.com/mayfly-pki/mayfly/internal/pemutil"
)

// This file chooses the key of a JWK provisioner from --create,
// --public-key, --private-key and --password-file (wire-spec §1.6).

// provJWKKey is a JWK provisioner's "key" (public JWK) and "encryptedKey"
// (compact JWE of the private JWK, "" when only the public key is known).
type provJWKKey struct {
	pub       *jose.JSONWebKey
	encrypted string
}

// provPassword reads the provisioner password once, from --password-file or
// the terminal, and reuses it (to decrypt a given key and encrypt it again).
type provPassword struct {
	file ui.PasswordFile
	pw   []byte
}

func (p *provPassword) get(prompt string) ([]byte, error) {
	if p.pw != nil {
		return p.pw, nil
	}
	pw, err := ui.ReadPassword(p.file, prompt)
	if err != nil {
		return nil, err
	}
	p.pw = pw
	return pw, nil
}

const provEncryptPrompt = "Please enter a password to encrypt the provisioner private key:"

// provJWKFromFlags returns the key of a JWK provisioner: a new P-256 key when
// create, else the key of --private-key and/or --public-key. The kid is the
// RFC 7638 thumbprint unless a JWK file gives one. The private JWK is
// encrypted with the password (PBES2-HS256+A128KW, A256GCM); an already
// encrypted --private-key (JWE) is kept as it is.
func provJWKFromFlags(c *cli.Context, create bool) (*provJWKKey, error) {
	pubFile, privFile := c.String("public-key"), c.String("private-key")
	pw := &provPassword{file: ui.PasswordFlag(c, "password-file")}
	if create {
		switch {
		case pubFile != "":
			return nil, errors.New("flag '--create' is incompatible with '--public-key'")
		case privFile != "":
			return nil, errors.New("flag '--create' is incompatible with '--private-key'")
		}
		key, err := keyutil.Generate("EC", "P-256", 0)
		if err != nil {
			return nil, err
		}
		priv, err := mjose.NewSigningJWK(key)
		if err != nil {
			return nil, err
		}
		return encryptProvJWK(priv, pw)
	}
	var pub *jose.JSONWebKey
	if pubFile != "" {
		var err error
		if pub, err = readProvPublicJWK(pubFile); err != nil {
			return nil, err
		}
	}
	if privFile == "" {
		if pub == nil {
			return nil, errors.New("flag '--create', '--public-key' or '--private-key' is required")
		}
		return &provJWKKey{pub: pub}, nil
	}
	priv, encrypted, err := readProvPrivateJWK(privFile, pw)
	if err != nil {
		return nil, err
	}
	if pub != nil {
		if !keyutil.Equal(pub.Key, priv.Key) {
			return nil, fmt.Errorf("the keys in %s (--public-key) and %s (--private-key) do not match", pubFile, privFile)
		}
		priv.KeyID = pub.KeyID
	}
	if encrypted != "" {
		p := priv.Public()
		if pub != nil {
			p = *pub
		}
		return &provJWKKey{pub: &p, encrypted: encrypted}, nil
	}
	return encryptProvJWK(priv, pw)
}

// encryptProvJWK encrypts priv with the provisioner password.
func encryptProvJWK(priv *jose.JSONWebKey, pw *provPassword) (*provJWKKey, error) {
	pass, err := pw.get(provEncryptPrompt)
	if err != nil {
		return nil, err
	}
	enc, err := mjose.EncryptJWK(priv, pass)
	if err != nil {
		return nil, fmt.Errorf("error encrypting the provisioner key: %w", err)
	}
	pub := priv.Public()
	return &provJWKKey{pub: &pub, encrypted: enc}, nil
}

// readProvPublicJWK reads a public key file: a JWK (a private JWK gives its
// public half) or a PEM public key, certificate or unencrypted private key.
func readProvPublicJWK(file string) (*jose.JSONWebKey, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("error reading %s: %w", file, errors.Unwrap(err))
	}
	if _, ok := provJWECompact(data); ok {
		return nil, fmt.Errorf("%s holds an encrypted key: use --private-key", file)
	}
	var jwk *jose.JSONWebKey
	if trimmed := bytes.TrimSpace(data); bytes.HasPrefix(trimmed, []byte("{")) {
		if jwk, err = parseProvJWK(file, trimmed); err != nil {
			return nil, err
		}
		p := jwk.Public()
		jwk = &p
	} else {
		key, err := pemutil.ParsePublicKey(data)
		if err != nil {
			signer, perr := pemutil.ParsePrivateKey(data, nil)
			if perr != nil {
				return nil, fmt.Errorf("error reading %s: not a JWK or PEM public key: %w", file, err)
			}
			key = signer.Public()
		}
		jwk = &jose.JSONWebKey{Key: key}
	}
	if err := fillProvJWK(file, jwk); err != nil {
		return nil, err
	}
	return jwk, nil
}

// readProvPrivateJWK reads a private key file: an encrypted JWK (JWE, compact
// or JSON; returned also as compact JWE), a JWK, or a PEM private key
// (decrypted with the password when encrypted).
func readProvPrivateJWK(file string, pw *provPassword) (*jose.JSONWebKey, string, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, "", fmt.Errorf("error reading %s: %w", file, errors.Unwrap(err))
	}
	decryptPrompt := fmt.Sprintf("Please enter the password to decrypt %s:", file)
	var jwk *jose.JSONWebKey
	encrypted := ""
	trimmed := bytes.TrimSpace(data)
	if compact, ok := provJWECompact(data); ok {
		pass, err := pw.get(decryptPrompt)
		if err != nil {
			return nil, "", err
		}
		if jwk, err = mjose.DecryptJWK(compact, pass); err != nil {
			return nil, "", fmt.Errorf("error decrypting %s: %w", file, err)
		}
		encrypted = compact
	} else if bytes.HasPrefix(trimmed, []byte("{")) {
		if jwk, err = parseProvJWK(file, trimmed); err != nil {
			return nil, "", err
		}
	} else {
		var pass []byte
		if pemutil.IsEncrypted(data) {
			if pass, err = pw.get(decryptPrompt); err != nil {
				return nil, "", err
			}
		}
		signer, err := pemutil.ParsePrivateKey(data, pass)
		if err != nil {
			return nil, "", fmt.Errorf("error reading %s: %w", file, err)
		}
		if jwk, err = mjose.NewSigningJWK(signer); err != nil {
			return nil, "", fmt.Errorf("error reading %s: %w", file, err)
		}
	}
	if jwk.IsPublic() {
		return nil, "", fmt.Errorf("%s holds a public key; --private-key needs a private key", file)
	}
	if err := fillProvJWK(file, jwk); err != nil {
		return nil, "", err
	}
	return jwk, encrypted, nil
}

// parseProvJWK parses a JWK and rejects symmetric keys.
func parseProvJWK(file string, data []byte) (*jose.JSONWebKey, error) {
	jwk := new(jose.JSONWebKey)
	if err := jwk.UnmarshalJSON(data); err != nil {
		return nil, fmt.Errorf("error reading %s: not a valid JWK: %w", file, err)
	}
	if _, ok := jwk.Key.([]byte); ok {
		return nil, fmt.Errorf("invalid JWK in %s: a symmetric key cannot be used as a provisioner key", file)
	}
	return jwk, nil
}

// fillProvJWK sets what step's keys always have: use "sig", the signing
// algorithm of the key type, and kid = thumbprint when missing.
func fillProvJWK(file string, jwk *jose.JSONWebKey) error {
	if jwk.Use == "" {
		jwk.Use = "sig"
	}
	if jwk.Algorithm == "" {
		alg, err := mjose.SigningAlgorithm(jwk.Key)
		if err != nil {
			return fmt.Errorf("invalid key in %s: %w", file, err)
		}
		jwk.Algorithm = string(alg)
	}
	if jwk.KeyID == "" {
		kid, err := mjose.Thumbprint(jwk)
		if err != nil {
			return fmt.Errorf("invalid key in %s: %w", file, err)
		}
		jwk.KeyID = kid
	}
	return nil
}

// provJWECompact returns data as a compact JWE when it is one, in compact or
// flattened JSON serialization.
func provJWECompact(data []byte) (string, bool) {
	s := strings.TrimSpace(string(data))
	if strings.Count(s, ".") == 4 && !strings.HasPrefix(s, "{") && !strings.Contains(s, "-----") {
		return s, true
	}
	var f struct {
		Protected    string `json:"protected"`
		EncryptedKey string `json:"encrypted_key"`
		IV           string `json:"iv"`
		Ciphertext   string `json:"ciphertext"`
		Tag          string `json:"tag"`
	}
	if err := json.Unmarshal([]byte(s), &f); err != nil || f.Protected == "" || f.Ciphertext == "" {
		return "", false
	}
	return strings.Join([]string{f.Protected, f.EncryptedKey, f.IV, f.Ciphertext, f.Tag}, "."), true
}
