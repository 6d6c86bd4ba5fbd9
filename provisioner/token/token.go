package token

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	jose "github.com/go-jose/go-jose/v4"
)

// hmacAlgorithm is the one HMAC algorithm parsed: AWS instance identity
// tokens are HS256 JWTs keyed by the identity document's signature
// (wire-spec §4.8). Verify checks them only with a []byte key, which only
// the AWS provisioner passes, so no other token may be HMAC-signed.
const hmacAlgorithm = jose.HS256

// XEdDSA is the algorithm of tokens signed by a Nebula certificate's X25519
// key (internal/xeddsa). Only an XEdDSA verifier (a jose.OpaqueVerifier,
// which only the Nebula provisioner passes) checks it: go-jose's verifiers
// of other keys refuse the algorithm.
const XEdDSA = jose.SignatureAlgorithm("XEdDSA")

// parseAlgorithms are SignatureAlgorithms, hmacAlgorithm and XEdDSA.
var parseAlgorithms = append(append([]jose.SignatureAlgorithm(nil), SignatureAlgorithms...), hmacAlgorithm, XEdDSA)

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

	// protected and payload are the decoded header and payload segments:
	// what was signed, whatever its encoding (see ReuseKey).
	protected, payload []byte

	// A token is verified either by go-jose (jws) or, for a compact token
	// whose header is a known one (Headers), directly (fast).
	jws  *jose.JSONWebSignature
	fast *compact
}

// Parse decodes a compact JWS token without verifying it; its signature is
// checked by go-jose. Headers.Parse also knows the configured keys' headers.
func Parse(raw string) (*Token, error) {
	return (*Headers)(nil).Parse(raw)
}

// Parse decodes a compact JWS token without verifying it. A token whose
// header is one of h's is verified directly (see compact.go); any other, by
// go-jose.
func (h *Headers) Parse(raw string) (*Token, error) {
	if raw == "" {
		return nil, fmt.Errorf("token is empty")
	}
	if len(raw) > MaxSize {
		return nil, fmt.Errorf("token is too large")
	}
	t := &Token{Raw: raw}
	if c, ok := h.parseCompact(raw); ok {
		t.Header, t.fast, t.protected, t.payload = c.header.header, c, c.header.decoded, c.payload
	} else {
		jws, protected, err := parseJOSE(raw)
		if err != nil {
			return nil, err
		}
		t.Header, t.jws, t.protected, t.payload = jws.Signatures[0].Header, jws, protected, jws.UnsafePayloadWithoutVerification()
	}
	if err := decodeClaims(t.payload, &t.Claims); err != nil {
		return nil, fmt.Errorf("error parsing token claims: %w", err)
	}
	return t, nil
}

// parseJOSE parses raw with go-jose, in the compact serialization only: the
// JSON serializations carry unprotected headers and re-encode one signed
// token in many ways, and no step client sends them. White space is
// removed first, as step-ca's parser (go-jose's ParseSigned) does. It also
// returns the decoded protected header.
func parseJOSE(raw string) (*jose.JSONWebSignature, []byte, error) {
	if strings.IndexFunc(raw, unicode.IsSpace) >= 0 {
		raw = strings.Map(func(r rune) rune {
			if unicode.IsSpace(r) {
				return -1
			}
			return r
		}, raw)
	}
	if strings.HasPrefix(raw, "{") {
		return nil, nil, errors.New("error parsing token: not in the JWS compact serialization (header.payload.signature)")
	}
	jws, err := jose.ParseSignedCompact(raw, parseAlgorithms)
	if err != nil {
		return nil, nil, fmt.Errorf("error parsing token: %w", err)
	}
	if len(jws.Signatures) != 1 {
		return nil, nil, fmt.Errorf("error parsing token: expected one signature")
	}
	// go-jose decoded the same segment the same way.
	seg, _, _ := strings.Cut(raw, ".")
	protected, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return nil, nil, fmt.Errorf("error parsing token: %w", err)
	}
	return jws, protected, nil
}

// Direct reports whether the token's signature is checked directly rather
// than by go-jose: its header is a configured key's (Headers). Tests and
// benchmarks use it to assert the fast path.
func (t *Token) Direct() bool { return t.fast != nil }

// Verify checks the token signature with key (a public key or *jose.JSONWebKey).
func (t *Token) Verify(key any) error {
	_, secret := key.([]byte)
	if hmac := jose.SignatureAlgorithm(t.Header.Algorithm) == hmacAlgorithm; hmac != secret {
		// An HMAC token is checked with a shared secret only (AWS), and a
		// shared secret checks nothing else.
		return fmt.Errorf("error verifying token signature: %w", jose.ErrCryptoFailure)
	}
	if t.fast == nil && t.jws != nil {
		// A token of a header no configured key signs (X5C, renew, SSHPOP):
		// go-jose parsed it; its signature is checked directly when that
		// gives go-jose's answer (see directFromJOSE).
		if c, ok := t.directFromJOSE(); ok {
			if ok, done := c.verify(key); done {
				if !ok {
					return fmt.Errorf("error verifying token signature: %w", jose.ErrCryptoFailure)
				}
				return nil
			}
		}
	}
	if t.fast != nil {
		if ok, done := t.fast.verify(key); done {
			if !ok {
				return fmt.Errorf("error verifying token signature: %w", jose.ErrCryptoFailure)
			}
			return nil
		}
		// A key the direct check does not handle: go-jose decides.
		jws, _, err := parseJOSE(t.Raw)
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

// Payload returns the decoded payload, for the claims only some types carry
// (cloud identity documents). Read it, never modify it; trust it only after
// Verify.
func (t *Token) Payload() []byte { return t.payload }

// ProtectedHeader returns the decoded protected header, the bytes the
// signature covers with the payload. Read it, never modify it.
func (t *Token) ProtectedHeader() []byte { return t.protected }

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

// ReuseKey returns the key recorded in used_ott for this token, so that one
// signed token is used once however it is encoded (wire-spec §4.10, changed
// here on purpose):
//
//   - with a jti: "jti:" + hex SHA-256 of the issuer and the jti. A jti
//     names the token within its issuer, so two provisioners may mint the
//     same one; the issuer is the provisioner's name, which the provisioner
//     checks before the token is recorded.
//   - without (renew tokens; other clients' tokens): "jws:" + hex SHA-256 of
//     the decoded protected header and payload, the bytes the signature
//     covers. Neither the raw token nor its signature: go-jose accepts one
//     signed token re-encoded (ECDSA's other signature (r, n−s), base64 with
//     set unused bits or line feeds), and each encoding would get a key of
//     its own. The header is included because it is signed too, and two
//     signers may sign equal payloads (two certificates with one subject
//     renewed in the same second).
//
// Both keys are 68 bytes, whatever the length of the jti, and the prefixes
// keep the two kinds apart. step-ca keys used_ott by the raw jti, or the
// SHA-256 of the raw token: rows imported from step-ca keep those keys, which
// never equal these; their tokens have expired anyway.
func (t *Token) ReuseKey() string {
	if t.Claims.ID != "" {
		return reuseKey("jti:", t.Claims.Issuer, t.Claims.ID)
	}
	return reuseKey("jws:", t.protected, t.payload)
}

// SignedReuseKey is ReuseKey's key for a token without jti, whatever its
// claims: "jws:" + hex SHA-256 of the decoded protected header and payload.
// The cloud identity types use it when trust on first use is disabled:
// step's AWS tokens carry a jti that names the instance, not the token.
func (t *Token) SignedReuseKey() string {
	return reuseKey("jws:", t.protected, t.payload)
}

// reuseKey is prefix + hex SHA-256(prefix, len(a), a, b): a's length makes
// the split between a and b unambiguous. Small inputs (a jti key) are
// hashed from a stack buffer.
func reuseKey[T string | []byte](prefix string, a, b T) string {
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(a)))
	var sum [sha256.Size]byte
	if len(prefix)+len(n)+len(a)+len(b) <= 256 {
		var buf [256]byte
		in := append(append(append(append(buf[:0], prefix...), n[:]...), a...), b...)
		sum = sha256.Sum256(in)
	} else {
		h := sha256.New()
		_, _ = h.Write([]byte(prefix))
		_, _ = h.Write(n[:])
		_, _ = h.Write([]byte(a))
		_, _ = h.Write([]byte(b))
		h.Sum(sum[:0])
	}
	var out [4 + 2*sha256.Size]byte
	copy(out[:], prefix)
	hex.Encode(out[len(prefix):], sum[:])
	return string(out[:len(prefix)+2*sha256.Size])
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
