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

	jose "github.com/go-jose/go-jose/v4"
)

// The CA parses and verifies one token per sign request, and go-jose's parse
// (a reflective JSON decoder, header sanitizing) and verify (re-encoding the
// signing input) cost ~20 µs of CPU around the ~65 µs ECDSA verification.
// Every token a provisioner key mints carries the same protected header, so
// the headers the configured keys' tokens carry are computed once per
// configuration snapshot (Headers) and parsed by go-jose then; a compact
// token whose header segment is one of them is checked directly, with the
// same rules as go-jose's Verify:
//
//   - the header segment was accepted by go-jose's ParseSignedCompact
//     (algorithm in SignatureAlgorithms) and holds only alg, kid and typ (no
//     crit, no b64, no embedded keys);
//   - the payload and signature segments decode as strict unpadded
//     base64url and hold no CR or LF (which Go's decoders skip), so the bytes
//     signed are exactly the ones go-jose would re-encode and hash;
//   - ES256/ES384/ES512 need an ECDSA key on the matching curve and an r||s
//     signature of twice the curve size; EdDSA needs an Ed25519 key.
//
// Anything else (other headers, keys of other types, mismatched algorithms)
// goes through go-jose, which gives its usual errors. Nothing from a token
// enters Headers: an unauthenticated sender cannot fill it or push the
// configured headers out of it.

var strictB64 = base64.RawURLEncoding.Strict()

// Headers is the set of protected headers that tokens signed by a
// configuration's keys carry, as step and this package mint them:
// {"alg":…,"kid":…,"typ":"JWT"} and the same without typ, members in that
// order. The provisioner collection builds one per configuration snapshot.
// Immutable, safe for concurrent use; a nil *Headers is the empty set.
type Headers struct {
	known map[string]*knownHeader // header segment → its header
}

type knownHeader struct {
	header jose.Header
	alg    jose.SignatureAlgorithm
	// decoded is the header segment decoded: the protected header bytes
	// the reuse key covers.
	decoded []byte
}

// NewHeaders computes the headers of tokens signed by keys (public or
// private JWKs). Keys the direct check does not handle (RSA, symmetric)
// add nothing: their tokens go through go-jose.
func NewHeaders(keys []*jose.JSONWebKey) *Headers {
	h := &Headers{known: map[string]*knownHeader{}}
	for _, k := range keys {
		if k == nil {
			continue
		}
		alg := directAlgorithm(k.Key)
		if alg == "" {
			continue
		}
		for _, typ := range []string{"JWT", ""} {
			m := map[string]string{"alg": string(alg)}
			if k.KeyID != "" {
				m["kid"] = k.KeyID
			}
			if typ != "" {
				m["typ"] = typ
			}
			decoded, err := json.Marshal(m) // members sorted: alg, kid, typ
			if err != nil {
				continue
			}
			seg := base64.RawURLEncoding.EncodeToString(decoded)
			if _, ok := h.known[seg]; ok || len(seg) > maxKnownHeaderSz {
				continue
			}
			// The header go-jose gives for this segment, whatever the
			// payload and signature.
			jws, err := jose.ParseSignedCompact(seg+".e30.AAAA", SignatureAlgorithms)
			if err != nil || jose.SignatureAlgorithm(jws.Signatures[0].Header.Algorithm) != alg {
				continue
			}
			h.known[seg] = &knownHeader{header: jws.Signatures[0].Header, alg: alg, decoded: decoded}
		}
	}
	return h
}

// maxKnownHeaderSz keeps a configured key with a huge kid out of the set
// (its tokens go through go-jose).
const maxKnownHeaderSz = 1024

// directAlgorithm is the algorithm whose tokens the direct check verifies
// with key, or "" when go-jose must.
func directAlgorithm(key any) jose.SignatureAlgorithm {
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		if k == nil {
			return ""
		}
		return directAlgorithm(&k.PublicKey)
	case *ecdsa.PublicKey:
		if k == nil {
			return ""
		}
		switch k.Curve {
		case elliptic.P256():
			return jose.ES256
		case elliptic.P384():
			return jose.ES384
		case elliptic.P521():
			return jose.ES512
		}
	case ed25519.PrivateKey:
		return jose.EdDSA
	case ed25519.PublicKey:
		return jose.EdDSA
	}
	return ""
}

// compact is a compact token with a known header.
type compact struct {
	header       *knownHeader
	signingInput string // header segment '.' payload segment
	payload      []byte
	sig          []byte
}

// parseCompact returns raw split and decoded when it is a compact token with
// a header in h; false sends it to go-jose.
func (h *Headers) parseCompact(raw string) (*compact, bool) {
	if h == nil || len(h.known) == 0 {
		return nil, false
	}
	// Go's base64 decoders skip CR and LF, which go-jose strips before
	// computing the signing input: such tokens are left to go-jose.
	if strings.ContainsAny(raw, "\r\n") {
		return nil, false
	}
	hs, rest, ok := strings.Cut(raw, ".")
	if !ok {
		return nil, false
	}
	p, s, ok := strings.Cut(rest, ".")
	if !ok || strings.IndexByte(s, '.') >= 0 {
		return nil, false
	}
	kh, ok := h.known[hs]
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
	return &compact{header: kh, signingInput: raw[:len(hs)+1+len(p)], payload: payload, sig: sig}, true
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
