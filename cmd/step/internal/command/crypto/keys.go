package crypto

import (
	"bytes"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/mayfly-pki/mayfly/cmd/step/internal/keyfile"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/ui"
	"github.com/mayfly-pki/mayfly/internal/fileutil"
	stepjose "github.com/mayfly-pki/mayfly/internal/jose"
	"github.com/mayfly-pki/mayfly/internal/pemutil"
)

// flattenedJWE is the JSON (flattened) serialization of a JWE, as step writes
// encrypted private JWKs.
type flattenedJWE struct {
	Protected    string `json:"protected"`
	EncryptedKey string `json:"encrypted_key"`
	IV           string `json:"iv"`
	Ciphertext   string `json:"ciphertext"`
	Tag          string `json:"tag"`
}

// compactToFlattened converts a compact JWE to its flattened JSON form.
func compactToFlattened(compact string) ([]byte, error) {
	parts := strings.Split(strings.TrimSpace(compact), ".")
	if len(parts) != 5 {
		return nil, errors.New("malformed JWE: expected 5 parts")
	}
	return json.MarshalIndent(flattenedJWE{parts[0], parts[1], parts[2], parts[3], parts[4]}, "", "  ")
}

// jweCompact returns the compact form of data holding a compact or flattened JWE.
func jweCompact(data []byte) (string, bool) {
	s := strings.TrimSpace(string(data))
	if strings.Count(s, ".") == 4 && !strings.HasPrefix(s, "{") {
		return s, true
	}
	var f flattenedJWE
	if err := json.Unmarshal(data, &f); err != nil || f.Protected == "" || f.Ciphertext == "" {
		return "", false
	}
	return strings.Join([]string{f.Protected, f.EncryptedKey, f.IV, f.Ciphertext, f.Tag}, "."), true
}

// readJWK reads a key file holding a JWK (plain JSON), an encrypted JWK (JWE,
// compact or JSON), or a PEM key (private or public). Encrypted keys are
// decrypted with the password of passwordFile or one prompted for. Errors name
// the file.
func readJWK(file string, pw ui.PasswordFile) (*jose.JSONWebKey, error) {
	data, err := ui.ReadInput(file)
	if err != nil {
		return nil, err
	}
	trimmed := bytes.TrimSpace(data)
	if compact, ok := jweCompact(trimmed); ok {
		pass, err := ui.ReadPassword(pw, fmt.Sprintf("Please enter the password to decrypt %s:", file))
		if err != nil {
			return nil, fmt.Errorf("cannot decrypt %s: %w", file, err)
		}
		jwk, err := stepjose.DecryptJWK(compact, pass)
		if err != nil {
			return nil, fmt.Errorf("error decrypting %s: %w", file, err)
		}
		return jwk, nil
	}
	if bytes.HasPrefix(trimmed, []byte("{")) {
		var jwk jose.JSONWebKey
		if err := json.Unmarshal(trimmed, &jwk); err != nil {
			return nil, fmt.Errorf("error reading %s: not a valid JWK: %w", file, err)
		}
		return &jwk, nil
	}
	var key any
	if pub, err := pemutil.ParsePublicKey(data); err == nil && !bytes.Contains(data, []byte("PRIVATE KEY")) {
		key = pub
	} else {
		priv, err := keyfile.ParsePrivateKey(file, data, pw)
		if err != nil {
			return nil, err
		}
		key = priv
	}
	return &jose.JSONWebKey{Key: key}, nil
}

// readPrivateKeyAny reads a PEM private key, or a private JWK (encrypted or not).
func readPrivateKeyAny(file string, pw ui.PasswordFile) (crypto.Signer, error) {
	jwk, err := readJWK(file, pw)
	if err != nil {
		return nil, err
	}
	s, ok := jwk.Key.(crypto.Signer)
	if !ok || jwk.IsPublic() {
		return nil, fmt.Errorf("%s does not contain a private key", file)
	}
	return s, nil
}

// readPassword reads a password file or returns nil when file is empty.
func readPasswordFile(file string) ([]byte, error) {
	if file == "" {
		return nil, nil
	}
	return fileutil.ReadPasswordFile(file)
}
