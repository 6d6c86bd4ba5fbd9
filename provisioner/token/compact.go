package token

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"strings"
	"sync"
	"sync/atomic"

	jose "github.com/go-jose/go-jose/v4"
)

// The CA parses and verifies one token per sign request, and go-jose's parse
// (a reflective JSON decoder, header sanitizing) and verify (re-encoding the
// signing input) cost ~20 µs of CPU around the ~65 µs ECDSA verification.
// Every token a provisioner key mints carries the same protected header, so
// headers are parsed by go-jose once and remembered; a compact token whose
// header is remembered is then checked directly, with the same rules as
// go-jose's Verify:
//
//   - the header segment was accepted by go-jose's ParseSigned (algorithm in
//     SignatureAlgorithms) and holds only alg, kid and typ (no crit, no b64,
//     no embedded keys);
//   - the three segments decode as strict unpadded base64url and hold no CR
//     or LF (which Go's decoders skip), so the bytes signed are exactly the
//     ones go-jose would re-encode and hash;
//   - ES256/ES384/ES512 need an ECDSA key on the matching curve and an r||s
//     signature of twice the curve size; EdDSA needs an Ed25519 key.
//
// Anything else (other serializations, other headers, keys of other types,
// mismatched algorithms) goes through go-jose, which gives its usual errors.

// Bounds of the header cache: an attacker sending many distinct headers only
// fills it, after which new headers are parsed by go-jose every time.
const (
	maxCachedHeaders  = 256
	maxCachedHeaderSz = 512
)

var (
	headerCache   sync.Map // header segment → *cachedHeader
	cachedHeaders atomic.Int32
	strictB64     = base64.RawURLEncoding.Strict()
)

type cachedHeader struct {
	header jose.Header
	alg    jose.SignatureAlgorithm
	// decoded is the header segment decoded: the protected header bytes
	// the reuse key covers.
	decoded []byte
}

// compact is a compact token with a cached header.
type compact struct {
	header       *cachedHeader
	signingInput string // header segment '.' payload segment
	payload      []byte
	sig          []byte
}

// parseCompact returns raw split and decoded when it is a compact token with
// a cached header; false sends it to go-jose.
func parseCompact(raw string) (*compact, bool) {
	// Go's base64 decoders skip CR and LF, which go-jose strips before
	// computing the signing input: such tokens are left to go-jose.
	if strings.ContainsAny(raw, "\r\n") {
		return nil, false
	}
	h, rest, ok := strings.Cut(raw, ".")
	if !ok {
		return nil, false
	}
	p, s, ok := strings.Cut(rest, ".")
	if !ok || strings.IndexByte(s, '.') >= 0 {
		return nil, false
	}
	v, ok := headerCache.Load(h)
	if !ok {
		return nil, false
	}
	payload, err := strictB64.DecodeString(p)
	if err != nil {
		return nil, false
	}
	sig, err := strictB64.DecodeString(s)
	if err != nil {
		return nil, false
	}
	return &compact{header: v.(*cachedHeader), signingInput: raw[:len(h)+1+len(p)], payload: payload, sig: sig}, true
}

// cacheHeader remembers the header of raw, which go-jose parsed as jws, when
// the direct check can verify tokens carrying it.
func cacheHeader(raw string, jws *jose.JSONWebSignature) {
	h, _, ok := strings.Cut(raw, ".")
	if !ok || len(h) > maxCachedHeaderSz || strings.ContainsAny(h, "\r\n") || cachedHeaders.Load() >= maxCachedHeaders {
		return
	}
	if _, ok := headerCache.Load(h); ok {
		return
	}
	alg := jose.SignatureAlgorithm(jws.Signatures[0].Header.Algorithm)
	switch alg {
	case jose.ES256, jose.ES384, jose.ES512, jose.EdDSA:
	default:
		return
	}
	// raw may be a JSON serialization or hold whitespace that go-jose
	// strips: only a header segment that is itself the strict encoding of a
	// protected header with the expected members is remembered.
	dec, err := strictB64.DecodeString(h)
	if err != nil {
		return
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(dec, &members); err != nil {
		return
	}
	for k := range members {
		if k != "alg" && k != "kid" && k != "typ" {
			return
		}
	}
	if string(members["alg"]) != `"`+string(alg)+`"` {
		return
	}
	if _, loaded := headerCache.LoadOrStore(h, &cachedHeader{header: jws.Signatures[0].Header, alg: alg, decoded: dec}); !loaded {
		cachedHeaders.Add(1)
	}
}

// verify checks the signature with key. done is false when the key or the
// algorithm is one the direct check leaves to go-jose.
func (c *compact) verify(key any) (ok, done bool) {
	switch k := key.(type) {
	case *jose.JSONWebKey:
		if k == nil {
			return false, false
		}
		key = k.Key
	case jose.JSONWebKey:
		key = k.Key
	}
	switch k := key.(type) {
	case *ecdsa.PublicKey:
		if k == nil {
			return false, false
		}
		var curve elliptic.Curve
		var size int
		var h crypto.Hash
		switch c.header.alg {
		case jose.ES256:
			curve, size, h = elliptic.P256(), 32, crypto.SHA256
		case jose.ES384:
			curve, size, h = elliptic.P384(), 48, crypto.SHA384
		case jose.ES512:
			curve, size, h = elliptic.P521(), 66, crypto.SHA512
		default:
			return false, false
		}
		if k.Curve != curve || len(c.sig) != 2*size {
			return false, false
		}
		hasher := h.New()
		_, _ = hasher.Write([]byte(c.signingInput))
		r := new(big.Int).SetBytes(c.sig[:size])
		s := new(big.Int).SetBytes(c.sig[size:])
		return ecdsa.Verify(k, hasher.Sum(nil), r, s), true
	case ed25519.PublicKey:
		if c.header.alg != jose.EdDSA || len(k) != ed25519.PublicKeySize {
			return false, false
		}
		return ed25519.Verify(k, []byte(c.signingInput), c.sig), true
	}
	return false, false
}
