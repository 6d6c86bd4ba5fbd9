package token

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"strings"
	"sync"
	"unicode"

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
// goes through go-jose, which gives its usual errors. Nothing from an
// unverified token enters Headers: an unauthenticated sender cannot fill it.
// The headers of verified tokens no configured key signs (X5C) are learned
// (Learn) in a bounded set of their own, which never pushes the configured
// headers out.

var strictB64 = base64.RawURLEncoding.Strict()

// Headers is the set of protected headers that tokens signed by a
// configuration's keys carry, as step and this package mint them:
// {"alg":…,"kid":…,"typ":"JWT"} and the same without typ, members in that
// order. The provisioner collection builds one per configuration snapshot.
// The configured set is immutable; Learn adds, in a bounded set of their
// own, the headers of tokens a provisioner has verified. Safe for
// concurrent use; a nil *Headers is the empty set and learns nothing.
type Headers struct {
	known   map[string]*knownHeader // header segment → its header
	learned *learnedHeaders
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
	h := &Headers{known: map[string]*knownHeader{}, learned: &learnedHeaders{m: map[string]*knownHeader{}}}
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

// MaxLearnedHeaders bounds the headers Learn keeps: clients re-use their
// certificate (X5C) for many tokens, so a few hundred serve a fleet, and
// a flood of distinct verified headers only evicts.
const MaxLearnedHeaders = 1024

// maxLearnedHeaderSz keeps huge headers (long x5c chains) out of the set.
const maxLearnedHeaderSz = 16 << 10

// learnedHeaders are headers of verified tokens that no configured key
// signs (X5C: the header holds the client's certificate chain).
type learnedHeaders struct {
	mu sync.RWMutex
	m  map[string]*knownHeader
}

// Learn adds t's header, the header of a token whose signature a
// provisioner has just verified, so that the next tokens with the same
// header (an X5C client's, carrying its certificate chain) are parsed and
// checked directly rather than by go-jose: a header sanitized by go-jose
// and its chain's certificates parsed cost a quarter of an X5C sign.
//
// Only the tokens whose signature directFromJOSE checks directly are
// learned: their header is what go-jose gave for the same segment, and the
// direct check gives go-jose's answer. The verification only gates what
// enters the set (an unauthenticated sender cannot fill it); correctness
// does not depend on it. When the set is full an arbitrary entry makes
// room.
func (h *Headers) Learn(t *Token) {
	if h == nil || h.learned == nil || t == nil || t.fast != nil || t.jws == nil {
		return
	}
	c, ok := t.directFromJOSE()
	if !ok {
		return
	}
	seg := c.signingInput[:strings.IndexByte(c.signingInput, '.')]
	if len(seg) > maxLearnedHeaderSz {
		return
	}
	l := h.learned
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.m[seg]; ok {
		return
	}
	if len(l.m) >= MaxLearnedHeaders {
		for k := range l.m {
			delete(l.m, k)
			break
		}
	}
	l.m[seg] = c.header
}

// lookup returns the header of segment seg: configured, or learned.
func (h *Headers) lookup(seg string) (*knownHeader, bool) {
	if kh, ok := h.known[seg]; ok {
		return kh, true
	}
	if h.learned == nil {
		return nil, false
	}
	h.learned.mu.RLock()
	kh, ok := h.learned.m[seg]
	h.learned.mu.RUnlock()
	return kh, ok
}

// parseCompact returns raw split and decoded when it is a compact token with
// a header in h; false sends it to go-jose.
func (h *Headers) parseCompact(raw string) (*compact, bool) {
	if h == nil {
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
	kh, ok := h.lookup(hs)
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

// directFromJOSE returns the direct form of a token go-jose parsed, for a
// signature check with go-jose's result without go-jose's re-encoding of
// the signing input: a compact token without white space (which go-jose
// strips) whose three segments are strict base64url, so that the bytes
// signed are the ones go-jose would re-encode, and whose protected header
// has no crit or b64 member (which change what go-jose verifies). The
// header is searched for those names only when it has no backslash, so
// that no JSON escape can spell them; otherwise, and for any other doubt,
// go-jose decides.
func (t *Token) directFromJOSE() (*compact, bool) {
	raw := t.Raw
	if strings.IndexFunc(raw, unicode.IsSpace) >= 0 {
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
	if bytes.IndexByte(t.protected, '\\') >= 0 || bytes.Contains(t.protected, []byte(`"crit"`)) || bytes.Contains(t.protected, []byte(`"b64"`)) {
		return nil, false
	}
	if decoded, err := strictB64.DecodeString(hs); err != nil || !bytes.Equal(decoded, t.protected) {
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
	kh := &knownHeader{header: t.Header, alg: jose.SignatureAlgorithm(t.Header.Algorithm), decoded: t.protected}
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
