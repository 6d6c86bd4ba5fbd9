package stepcas

import (
	"crypto"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	jose "github.com/go-jose/go-jose/v4"

	mjose "github.com/mayfly-pki/mayfly/internal/jose"
	"github.com/mayfly-pki/mayfly/internal/pemutil"
	"github.com/mayfly-pki/mayfly/provisioner/token"
)

// MaxKeyFileSize bounds the issuer's key and certificate files.
const MaxKeyFileSize = 1 << 20

// IssuerOptions is certificateIssuer (wire-spec §7.2): a JWK provisioner
// of the upstream and its private key (the JWE step writes as encryptedKey,
// a JSON JWK or a PEM key), or an X5C provisioner with a certificate and
// its key.
type IssuerOptions struct {
	Type        string // "jwk" or "x5c"
	Provisioner string
	Certificate string // x5c: certificate (chain) file
	Key         string // key file
	Password    []byte // decrypts Key (--issuer-password-file, or certificateIssuer.password)
}

// tokenIssuer mints the upstream's one-time tokens.
type tokenIssuer struct {
	provisioner string
	key         *jose.JSONWebKey
	x5c         []string // nil: a JWK issuer
}

func newTokenIssuer(o IssuerOptions) (*tokenIssuer, error) {
	if o.Provisioner == "" {
		return nil, fmt.Errorf("authority.certificateIssuer.provisioner: required")
	}
	if o.Key == "" {
		return nil, fmt.Errorf("authority.certificateIssuer.key: required")
	}
	data, err := readBounded(o.Key)
	if err != nil {
		return nil, fmt.Errorf("authority.certificateIssuer.key: %w", err)
	}
	t := &tokenIssuer{provisioner: o.Provisioner}
	switch strings.ToLower(o.Type) {
	case "jwk":
		if t.key, err = readJWK(data, o.Password); err != nil {
			return nil, fmt.Errorf("authority.certificateIssuer.key: %s: %w", o.Key, err)
		}
	case "x5c":
		if o.Certificate == "" {
			return nil, fmt.Errorf("authority.certificateIssuer.crt: required for an x5c issuer")
		}
		chain, err := pemutil.ReadCertificates(o.Certificate)
		if err != nil {
			return nil, fmt.Errorf("authority.certificateIssuer.crt: %w", err)
		}
		signer, err := pemutil.ParsePrivateKey(data, o.Password)
		if err != nil {
			return nil, fmt.Errorf("authority.certificateIssuer.key: %s: %w", o.Key, err)
		}
		if pub, ok := signer.Public().(interface{ Equal(crypto.PublicKey) bool }); !ok || !pub.Equal(chain[0].PublicKey) {
			return nil, fmt.Errorf("authority.certificateIssuer.key: %s is not the key of the certificate in %s", o.Key, o.Certificate)
		}
		if t.key, err = mjose.NewSigningJWK(signer); err != nil {
			return nil, fmt.Errorf("authority.certificateIssuer.key: %w", err)
		}
		t.key.KeyID = o.Key
		for _, c := range chain {
			t.x5c = append(t.x5c, base64.StdEncoding.EncodeToString(c.Raw))
		}
	default:
		return nil, fmt.Errorf("authority.certificateIssuer.type: unknown issuer type %q (want jwk or x5c)", o.Type)
	}
	return t, nil
}

// readJWK reads a JWK private key: a JWE (step's encryptedKey), a JSON JWK or
// a PEM key; its kid is the key's own or its thumbprint.
func readJWK(data, password []byte) (*jose.JSONWebKey, error) {
	s := strings.TrimSpace(string(data))
	var key *jose.JSONWebKey
	switch {
	case strings.HasPrefix(s, "-----BEGIN"):
		signer, err := pemutil.ParsePrivateKey(data, password)
		if err != nil {
			return nil, err
		}
		if key, err = mjose.NewSigningJWK(signer); err != nil {
			return nil, err
		}
	case strings.HasPrefix(s, "{") && !strings.Contains(s, `"protected"`):
		key = new(jose.JSONWebKey)
		if err := json.Unmarshal([]byte(s), key); err != nil {
			return nil, fmt.Errorf("not a JSON web key: %w", err)
		}
	default:
		if strings.HasPrefix(s, "{") {
			// The JWE JSON serialization step writes to files.
			var jwe struct{ Protected, EncryptedKey, IV, Ciphertext, Tag string }
			if err := json.Unmarshal([]byte(s), &jwe); err != nil {
				return nil, fmt.Errorf("not an encrypted key: %w", err)
			}
			s = strings.Join([]string{jwe.Protected, jwe.EncryptedKey, jwe.IV, jwe.Ciphertext, jwe.Tag}, ".")
		}
		if len(password) == 0 {
			return nil, fmt.Errorf("the key is encrypted: use --issuer-password-file or certificateIssuer.password")
		}
		var err error
		if key, err = mjose.DecryptJWK(s, password); err != nil {
			return nil, err
		}
	}
	if key.IsPublic() {
		return nil, fmt.Errorf("not a private key")
	}
	if key.KeyID == "" {
		kid, err := mjose.Thumbprint(key)
		if err != nil {
			return nil, err
		}
		key.KeyID = kid
	}
	if key.Algorithm == "" {
		alg, err := mjose.SigningAlgorithm(key.Public().Key)
		if err != nil {
			return nil, err
		}
		key.Algorithm = string(alg)
	}
	return key, nil
}

func (t *tokenIssuer) sign(c *token.Claims) (string, error) {
	var headers map[string]any
	if t.x5c != nil {
		headers = map[string]any{"x5c": t.x5c}
	}
	return token.Sign(t.key, c, headers)
}

func readBounded(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.Size() > MaxKeyFileSize {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, MaxKeyFileSize)
	}
	return os.ReadFile(path)
}
