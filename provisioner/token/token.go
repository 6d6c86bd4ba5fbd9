package token

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// MaxSize bounds the length of a token the CA will parse.
const MaxSize = 64 << 10

// SignatureAlgorithms are the JWS algorithms accepted in tokens.
var SignatureAlgorithms = []jose.SignatureAlgorithm{
	jose.ES256, jose.ES384, jose.ES512, jose.EdDSA,
	jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512,
}

// Token is a parsed but not yet verified token. The claims are decoded once,
// from the unverified payload; Verify checks the signature over the same bytes.
type Token struct {
	Raw string
	// Header is the protected header. It may be shared with other tokens
	// that carry the same header: read it, never modify it.
	Header jose.Header
	Claims Claims

	// A token is verified either by go-jose (jws) or, for a compact token
	// whose header is in the cache, directly (fast).
	jws  *jose.JSONWebSignature
	fast *compact
}

// Parse decodes a compact JWS token without verifying it.
func Parse(raw string) (*Token, error) {
	if raw == "" {
		return nil, fmt.Errorf("token is empty")
	}
	if len(raw) > MaxSize {
		return nil, fmt.Errorf("token is too large")
	}
	t := &Token{Raw: raw}
	var payload []byte
	if c, ok := parseCompact(raw); ok {
		t.Header, t.fast, payload = c.header.header, c, c.payload
	} else {
		jws, err := parseJOSE(raw)
		if err != nil {
			return nil, err
		}
		cacheHeader(raw, jws)
		t.Header, t.jws, payload = jws.Signatures[0].Header, jws, jws.UnsafePayloadWithoutVerification()
	}
	if err := decodeClaims(payload, &t.Claims); err != nil {
		return nil, fmt.Errorf("error parsing token claims: %w", err)
	}
	return t, nil
}

// parseJOSE parses raw with go-jose: any serialization, any header.
func parseJOSE(raw string) (*jose.JSONWebSignature, error) {
	jws, err := jose.ParseSigned(raw, SignatureAlgorithms)
	if err != nil {
		return nil, fmt.Errorf("error parsing token: %w", err)
	}
	if len(jws.Signatures) != 1 {
		return nil, fmt.Errorf("error parsing token: expected one signature")
	}
	return jws, nil
}

// Verify checks the token signature with key (a public key or *jose.JSONWebKey).
func (t *Token) Verify(key any) error {
	if t.fast != nil {
		if ok, done := t.fast.verify(key); done {
			if !ok {
				return fmt.Errorf("error verifying token signature: %w", jose.ErrCryptoFailure)
			}
			return nil
		}
		// A key the direct check does not handle: go-jose decides.
		jws, err := parseJOSE(t.Raw)
		if err != nil {
			return err
		}
		t.jws, t.fast = jws, nil
	}
	if _, err := t.jws.Verify(key); err != nil {
		return fmt.Errorf("error verifying token signature: %w", err)
	}
	return nil
}

// HeaderString returns a string value from the protected header's extra fields.
func (t *Token) HeaderString(name string) string {
	s, _ := t.Header.ExtraHeaders[jose.HeaderKey(name)].(string)
	return s
}

// HeaderStrings returns a string array value from the protected header.
func (t *Token) HeaderStrings(name string) []string {
	v, _ := t.Header.ExtraHeaders[jose.HeaderKey(name)].([]any)
	out := make([]string, 0, len(v))
	for _, e := range v {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// ReuseKey returns the key recorded in used_ott (wire-spec §4.10): the jti, or
// the lower-case hex SHA-256 of the raw token when there is none.
func (t *Token) ReuseKey() string {
	if t.Claims.ID != "" {
		return t.Claims.ID
	}
	sum := sha256.Sum256([]byte(t.Raw))
	return hex.EncodeToString(sum[:])
}

// NewID returns a random jti: 64 hex characters (32 random bytes), as step does.
func NewID() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(b[:]), nil
}

// DefaultValidity is the lifetime of a minted token (wire-spec §4).
const DefaultValidity = 5 * time.Minute

// Sign mints a compact JWS over claims with the private JWK key, with header
// typ "JWT", kid = key.KeyID (unless headers override it) and the given extra
// header fields.
func Sign(key *jose.JSONWebKey, claims *Claims, headers map[string]any) (string, error) {
	alg := jose.SignatureAlgorithm(key.Algorithm)
	if alg == "" {
		return "", fmt.Errorf("signing key has no algorithm")
	}
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if key.KeyID != "" {
		opts = opts.WithHeader("kid", key.KeyID)
	}
	for k, v := range headers {
		opts = opts.WithHeader(jose.HeaderKey(k), v)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key.Key}, opts)
	if err != nil {
		return "", fmt.Errorf("error creating token signer: %w", err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("error signing token: %w", err)
	}
	return jws.CompactSerialize()
}

// SplitAudience splits an audience like "https://host:port/1.0/sign#x5c/name"
// into its URL without fragment and the fragment.
func SplitAudience(aud string) (string, string) {
	if i := strings.IndexByte(aud, '#'); i >= 0 {
		return aud[:i], aud[i+1:]
	}
	return aud, ""
}
