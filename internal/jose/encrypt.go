package jose

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	jose "github.com/go-jose/go-jose/v4"
)

// DefaultPBES2Count is the PBES2 iteration count step writes ("p2c").
const DefaultPBES2Count = 600000

// maxPBES2Count is the largest p2c go-jose v4 accepts on decryption (it
// refuses higher counts to bound attacker-controlled work).
const maxPBES2Count = 1000000

// ErrBadPassword is returned (wrapped) by DecryptJWK when the password does
// not decrypt the JWE.
var ErrBadPassword = errors.New("wrong password")

// ErrPasswordRequired is returned (wrapped) when an empty password is given.
var ErrPasswordRequired = errors.New("a password is required")

// ErrMalformedJWE is returned (wrapped) when the input is not a compact JWE
// of the expected shape, or its plaintext is not a private JWK.
var ErrMalformedJWE = errors.New("malformed encrypted key")

// EncryptJWK encrypts a private JWK (its JSON) as compact JWE exactly as step does: protected header
// {"alg":"PBES2-HS256+A128KW","cty":"jwk+json","enc":"A256GCM","p2c":600000,"p2s":"<16 random bytes b64url>"}.
//
// The password must be non-empty (ErrPasswordRequired). PBKDF2 with 600000
// iterations costs roughly a few hundred milliseconds of CPU.
func EncryptJWK(key *jose.JSONWebKey, password []byte) (string, error) {
	return encryptJWK(key, password, DefaultPBES2Count)
}

func encryptJWK(key *jose.JSONWebKey, password []byte, count int) (string, error) {
	if len(password) == 0 {
		return "", fmt.Errorf("encrypt JWK: %w", ErrPasswordRequired)
	}
	if key == nil || key.Key == nil {
		return "", fmt.Errorf("encrypt JWK: %w: empty key", ErrUnsupportedKey)
	}
	plain, err := json.Marshal(key)
	if err != nil {
		return "", fmt.Errorf("encrypt JWK: encode key: %w", err)
	}
	enc, err := jose.NewEncrypter(jose.A256GCM, jose.Recipient{
		Algorithm:  jose.PBES2_HS256_A128KW,
		Key:        password,
		PBES2Count: count,
	}, (&jose.EncrypterOptions{}).WithContentType("jwk+json"))
	if err != nil {
		return "", fmt.Errorf("encrypt JWK: %w", err)
	}
	obj, err := enc.Encrypt(plain)
	if err != nil {
		return "", fmt.Errorf("encrypt JWK: %w", err)
	}
	out, err := obj.CompactSerialize()
	if err != nil {
		return "", fmt.Errorf("encrypt JWK: serialize: %w", err)
	}
	return out, nil
}

var pbes2Algs = []jose.KeyAlgorithm{jose.PBES2_HS256_A128KW, jose.PBES2_HS384_A192KW, jose.PBES2_HS512_A256KW}

var contentEncs = []jose.ContentEncryption{
	jose.A128GCM, jose.A192GCM, jose.A256GCM,
	jose.A128CBC_HS256, jose.A192CBC_HS384, jose.A256CBC_HS512,
}

// DecryptJWK decrypts such a JWE (any p2c go-jose accepts) and returns the private JWK.
// Wrong password → error wrapping pemutil.ErrBadPassword-like sentinel ErrBadPassword defined in this package.
//
// Accepted: compact serialization, alg PBES2-HS256+A128KW / HS384+A192KW /
// HS512+A256KW, enc AES-GCM or AES-CBC-HMAC, 1 <= p2c <= 1000000 (go-jose's
// limit). Errors: ErrPasswordRequired, ErrBadPassword, ErrMalformedJWE (bad
// shape, p2c out of range, plaintext not a private JWK); all wrapped.
func DecryptJWK(compact string, password []byte) (*jose.JSONWebKey, error) {
	if len(password) == 0 {
		return nil, fmt.Errorf("decrypt JWK: %w", ErrPasswordRequired)
	}
	compact = strings.TrimSpace(compact)
	if err := checkP2C(compact); err != nil {
		return nil, fmt.Errorf("decrypt JWK: %w", err)
	}
	obj, err := jose.ParseEncryptedCompact(compact, pbes2Algs, contentEncs)
	if err != nil {
		return nil, fmt.Errorf("decrypt JWK: %w: %v", ErrMalformedJWE, err)
	}
	plain, err := obj.Decrypt(password)
	if err != nil {
		if errors.Is(err, jose.ErrCryptoFailure) {
			return nil, fmt.Errorf("decrypt JWK: %w", ErrBadPassword)
		}
		return nil, fmt.Errorf("decrypt JWK: %w: %v", ErrMalformedJWE, err)
	}
	var jwk jose.JSONWebKey
	if err := json.Unmarshal(plain, &jwk); err != nil {
		return nil, fmt.Errorf("decrypt JWK: %w: plaintext is not a JWK: %v", ErrMalformedJWE, err)
	}
	if jwk.IsPublic() {
		return nil, fmt.Errorf("decrypt JWK: %w: plaintext is a public key, expected a private key", ErrMalformedJWE)
	}
	return &jwk, nil
}

// checkP2C rejects p2c values go-jose would refuse, so the caller gets a
// clear error instead of go-jose's generic crypto failure (which would look
// like a wrong password).
func checkP2C(compact string) error {
	head, _, ok := strings.Cut(compact, ".")
	if !ok {
		return fmt.Errorf("%w: not a compact JWE", ErrMalformedJWE)
	}
	raw, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		return fmt.Errorf("%w: protected header is not base64url", ErrMalformedJWE)
	}
	var h struct {
		P2C *int `json:"p2c"`
	}
	if err := json.Unmarshal(raw, &h); err != nil {
		return fmt.Errorf("%w: protected header is not JSON", ErrMalformedJWE)
	}
	if h.P2C == nil {
		return nil // go-jose reports the missing field
	}
	if *h.P2C < 1 || *h.P2C > maxPBES2Count {
		return fmt.Errorf("%w: p2c %d out of range 1..%d", ErrMalformedJWE, *h.P2C, maxPBES2Count)
	}
	return nil
}
