package acme

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"unicode/utf8"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/mayfly-pki/mayfly/authority/acme"
)

// Algorithms are the JWS algorithms accepted (RFC 8555 §6.2).
var Algorithms = []jose.SignatureAlgorithm{jose.ES256, jose.ES384, jose.RS256, jose.EdDSA}

// signed is a verified JWS request.
type signed struct {
	payload []byte
	jwk     *jose.JSONWebKey // the key that signed (embedded jwk, or the account's)
	account *acme.Account    // nil when signed with an embedded jwk
	empty   bool             // POST-as-GET
}

// flatJWS is an ACME request body: a JWS in the Flattened JSON
// Serialization (RFC 8555 §6.2, RFC 7515 §7.2.2), parsed but not verified.
type flatJWS struct {
	alg   jose.SignatureAlgorithm
	nonce string
	url   string
	kid   string
	jwk   *jose.JSONWebKey // the embedded key, nil with a kid
	// payload is the decoded payload, empty for POST-as-GET (RFC 8555 §6.3).
	payload []byte
	sig     []byte
	// input is the JWS Signing Input, ASCII(protected "." payload) as sent
	// (RFC 7515 §5.2): never re-encoded.
	input []byte
}

var b64 = base64.RawURLEncoding.Strict()

// parseFlat parses body as a flattened JWS of exactly the members
// protected, payload and signature, each unpadded base64url, and reads its
// protected header (see parseHeader). Errors are problems: malformed, or
// badSignatureAlgorithm.
func parseFlat(body []byte) (*flatJWS, error) {
	if len(body) > MaxBodySize {
		return nil, acme.Problemf(acme.Malformed, "the request body is over %d bytes", MaxBodySize)
	}
	const where = "the request body"
	s := scanner{b: body}
	if !s.eat('{') {
		return nil, acme.Problemf(acme.Malformed, "the request is not a JWS in the flattened JSON serialization (RFC 8555 §6.2): %v", s.errorf(where, "'{'"))
	}
	var members [3][]byte // protected, payload, signature
	var seen [3]bool
	for more := !s.eat('}'); more; {
		n, err := s.name(where)
		if err != nil {
			return nil, acme.Problemf(acme.Malformed, "the request is not a valid JWS: %v", err)
		}
		i := -1
		switch string(n) {
		case "protected":
			i = 0
		case "payload":
			i = 1
		case "signature":
			i = 2
		case "header":
			return nil, acme.Problemf(acme.Malformed, "the JWS has an unprotected header")
		case "signatures":
			return nil, acme.Problemf(acme.Malformed, "the JWS must use the flattened JSON serialization, not the general one (RFC 8555 §6.2)")
		default:
			return nil, acme.Problemf(acme.Malformed, "the JWS has an unknown member %s: only protected, payload and signature are allowed (RFC 8555 §6.2)", quoteName(n))
		}
		if seen[i] {
			return nil, acme.Problemf(acme.Malformed, "the JWS has the member %q twice", n)
		}
		seen[i] = true
		if members[i], err = s.b64(where, string(n)); err != nil {
			return nil, acme.Problemf(acme.Malformed, "the request is not a valid JWS: %v", err)
		}
		switch {
		case s.eat(','):
		case s.eat('}'):
			more = false
		default:
			return nil, acme.Problemf(acme.Malformed, "the request is not a valid JWS: %v", s.errorf(where, "',' or '}'"))
		}
	}
	if !s.atEnd() {
		return nil, acme.Problemf(acme.Malformed, "the request is not a valid JWS: %s has data after the JWS object (byte %d)", where, s.pos)
	}
	for i, name := range [...]string{"protected", "payload", "signature"} {
		if !seen[i] {
			return nil, acme.Problemf(acme.Malformed, "the JWS has no %s member (RFC 8555 §6.2)", name)
		}
	}
	prot, pay, sig := members[0], members[1], members[2]

	// One allocation for the decoded parts and the signing input.
	nh, np, ns := b64.DecodedLen(len(prot)), b64.DecodedLen(len(pay)), b64.DecodedLen(len(sig))
	buf := make([]byte, nh+np+ns+len(prot)+1+len(pay))
	hdr, err := decodeB64(buf[:nh], prot, "protected")
	if err != nil {
		return nil, err
	}
	j := &flatJWS{}
	if j.payload, err = decodeB64(buf[nh:nh+np], pay, "payload"); err != nil {
		return nil, err
	}
	if j.sig, err = decodeB64(buf[nh+np:nh+np+ns], sig, "signature"); err != nil {
		return nil, err
	}
	in := buf[nh+np+ns : nh+np+ns]
	in = append(in, prot...)
	in = append(in, '.')
	j.input = append(in, pay...)
	if err := j.parseHeader(hdr); err != nil {
		return nil, err
	}
	return j, nil
}

func decodeB64(dst, src []byte, member string) ([]byte, error) {
	n, err := b64.Decode(dst, src)
	if err != nil {
		return nil, acme.Problemf(acme.Malformed, "the JWS member %q is not unpadded base64url: %v", member, err)
	}
	return dst[:n], nil
}

// parseHeader reads the protected header (RFC 8555 §6.2): alg, one of the
// allowed algorithms; nonce, url, kid (strings); jwk (a public key). crit
// and b64 are refused: we understand no extension (RFC 7515 §4.1.11, RFC
// 7797). Other members are ignored, as RFC 7515 §4 asks. Member names must
// be unique (RFC 7515 §5.2 step 4).
func (j *flatJWS) parseHeader(hdr []byte) error {
	const where = "the JWS protected header"
	if !json.Valid(hdr) {
		return acme.Problemf(acme.Malformed, "%s is not valid JSON", where)
	}
	s := scanner{b: hdr}
	if !s.eat('{') {
		return acme.Problemf(acme.Malformed, "%s is not a JSON object", where)
	}
	var names [maxHeaderMembers][]byte
	var alg, nonce, url, kid, jwk []byte
	var ext string // crit or b64
	nn := 0
	for more := !s.eat('}'); more; {
		n, err := s.name(where)
		if err != nil {
			return acme.Problemf(acme.Malformed, "%v", err)
		}
		// go-jose reads an invalid UTF-8 name as U+FFFD, so two different
		// such names would be one member to it.
		if !utf8.Valid(n) {
			return acme.Problemf(acme.Malformed, "%s has a member name that is not UTF-8", where)
		}
		for _, prev := range names[:nn] {
			if string(prev) == string(n) {
				return acme.Problemf(acme.Malformed, "%s has the member %s twice", where, quoteName(n))
			}
		}
		if nn == len(names) {
			return acme.Problemf(acme.Malformed, "%s has more than %d members", where, maxHeaderMembers)
		}
		names[nn] = n
		nn++
		v, err := s.value(where)
		if err != nil {
			return acme.Problemf(acme.Malformed, "%v", err)
		}
		switch string(n) {
		case "alg":
			alg = v
		case "nonce":
			nonce = v
		case "url":
			url = v
		case "kid":
			kid = v
		case "jwk":
			jwk = v
		case "crit", "b64":
			ext = string(n)
		}
		switch {
		case s.eat(','):
		case s.eat('}'):
			more = false
		default:
			return acme.Problemf(acme.Malformed, "%v", s.errorf(where, "',' or '}'"))
		}
	}
	if !s.atEnd() {
		return acme.Problemf(acme.Malformed, "%v", s.errorf(where, "the end"))
	}
	// The algorithm first, as go-jose (and so step-ca) checks it first.
	a, _ := jsonString(alg)
	switch j.alg = jose.SignatureAlgorithm(a); j.alg {
	case jose.ES256, jose.ES384, jose.RS256, jose.EdDSA:
	default:
		return acme.Problemf(acme.BadSignatureAlgorithm, "the JWS algorithm is not supported (use ES256, ES384, RS256 or EdDSA)")
	}
	if ext != "" {
		return acme.Problemf(acme.Malformed, "%s has %q: no JWS extension is supported", where, ext)
	}
	for _, m := range [...]struct {
		name string
		raw  []byte
		dst  *string
	}{{"nonce", nonce, &j.nonce}, {"url", url, &j.url}, {"kid", kid, &j.kid}} {
		if m.raw == nil {
			continue
		}
		v, ok := jsonString(m.raw)
		if !ok {
			return acme.Problemf(acme.Malformed, "%s member %q is not a string", where, m.name)
		}
		*m.dst = v
	}
	if jwk != nil {
		k := new(jose.JSONWebKey)
		if err := k.UnmarshalJSON(jwk); err != nil {
			return acme.Problemf(acme.Malformed, "%s member \"jwk\" is not a valid JWK: %v", where, err)
		}
		// RFC 7515 §4.1.3: only a public key may be embedded.
		if !k.Valid() || !k.IsPublic() {
			return acme.Problemf(acme.Malformed, "%s member \"jwk\" must be a public key", where)
		}
		j.jwk = k
	}
	return nil
}

var errBadSignature = errors.New("the JWS signature is invalid")

// verify checks the signature with key, whose type must fit the algorithm:
// ES256 a P-256 key, ES384 a P-384 key, RS256 an RSA key of at least 2048
// bits, EdDSA an Ed25519 key (RFC 7518 §3, RFC 8037 §3.1).
func (j *flatJWS) verify(key any) error {
	switch k := key.(type) {
	case *ecdsa.PublicKey:
		var size int
		var digest []byte
		switch {
		case j.alg == jose.ES256 && k.Curve == elliptic.P256():
			h := sha256.Sum256(j.input)
			size, digest = 32, h[:]
		case j.alg == jose.ES384 && k.Curve == elliptic.P384():
			h := sha512.Sum384(j.input)
			size, digest = 48, h[:]
		default:
			return errBadSignature
		}
		// RFC 7518 §3.4: R and S, each exactly the size of the curve order.
		if len(j.sig) != 2*size {
			return errBadSignature
		}
		var der [2*(2+1+48) + 2]byte
		sig := ecdsaDER(der[:0], j.sig[:size], j.sig[size:])
		if sig == nil || !ecdsa.VerifyASN1(k, digest, sig) {
			return errBadSignature
		}
	case *rsa.PublicKey:
		if j.alg != jose.RS256 || k.N.BitLen() < 2048 {
			return errBadSignature
		}
		h := sha256.Sum256(j.input)
		if rsa.VerifyPKCS1v15(k, crypto.SHA256, h[:], j.sig) != nil {
			return errBadSignature
		}
	case ed25519.PublicKey:
		if j.alg != jose.EdDSA || len(k) != ed25519.PublicKeySize || !ed25519.Verify(k, j.input, j.sig) {
			return errBadSignature
		}
	default:
		return errBadSignature
	}
	return nil
}

// ecdsaDER appends the ASN.1 Ecdsa-Sig-Value (RFC 3279 §2.2.3) of the
// big-endian r and s to dst, as ecdsa.Verify does before it calls
// VerifyASN1; nil when r or s is zero (never a valid signature).
func ecdsaDER(dst, r, s []byte) []byte {
	r, s = trimZeros(r), trimZeros(s)
	if len(r) == 0 || len(s) == 0 {
		return nil
	}
	n := derIntLen(r) + derIntLen(s) // at most 2×51 bytes for P-384: short form
	dst = append(dst, 0x30, byte(n))
	return appendDERInt(appendDERInt(dst, r), s)
}

func trimZeros(b []byte) []byte {
	for len(b) > 0 && b[0] == 0 {
		b = b[1:]
	}
	return b
}

func derIntLen(b []byte) int {
	if b[0]&0x80 != 0 {
		return 2 + 1 + len(b)
	}
	return 2 + len(b)
}

func appendDERInt(dst, b []byte) []byte {
	if b[0]&0x80 != 0 {
		dst = append(dst, 0x02, byte(len(b)+1), 0)
	} else {
		dst = append(dst, 0x02, byte(len(b)))
	}
	return append(dst, b...)
}

// parseJWS parses body as a flattened JWS and checks its protected header:
// an allowed algorithm, the url of this request, kid xor jwk, and a nonce
// (consumed here, after the other checks).
func (h *Handler) parseJWS(q *request, body []byte) (*flatJWS, error) {
	j, err := parseFlat(body)
	if err != nil {
		return nil, err
	}
	if j.url == "" {
		return nil, acme.Problemf(acme.Malformed, "the JWS protected header has no url")
	}
	if want := q.requestURL(); j.url != want {
		return nil, acme.Problemf(acme.Unauthorized, "the JWS url %q is not the request's URL %q", j.url, want)
	}
	if (j.kid == "") == (j.jwk == nil) {
		return nil, acme.Problemf(acme.Malformed, "the JWS protected header must have exactly one of jwk and kid")
	}
	if err := h.d.Service.UseNonce(q.r.Context(), j.nonce); err != nil {
		return nil, err
	}
	return j, nil
}

// requestURL is the URL the client must sign: the request's path on the
// /acme prefix, as the links are built.
func (q *request) requestURL() string {
	p := q.r.URL.Path
	if rest, ok := strings.CutPrefix(p, "/2.0/acme/"); ok {
		p = "/acme/" + rest
	}
	return "https://" + q.r.Host + p
}

// verify reads and checks the request's JWS. With allowJWK the request may
// carry its key (new-account, revoke-cert); otherwise it must name an
// account by kid, which must be valid.
func (h *Handler) verify(q *request, allowJWK bool) (*signed, error) {
	body, err := readBody(q.r)
	if err != nil {
		return nil, err
	}
	j, err := h.parseJWS(q, body)
	if err != nil {
		return nil, err
	}
	out := &signed{}
	if j.jwk != nil {
		if !allowJWK {
			return nil, acme.Problemf(acme.Malformed, "this request must be signed by an account key (kid), not a jwk")
		}
		if !j.jwk.Valid() || !j.jwk.IsPublic() {
			return nil, acme.Problemf(acme.BadPublicKey, "the jwk is not a valid public key")
		}
		if err := checkKey(j.jwk); err != nil {
			return nil, err
		}
		out.jwk = j.jwk
	} else {
		prefix := q.link("account") + "/"
		id, ok := strings.CutPrefix(j.kid, prefix)
		if !ok || id == "" || strings.Contains(id, "/") {
			return nil, acme.Problemf(acme.AccountDoesNotExist, "kid %q is not an account of this provisioner", j.kid)
		}
		acc, err := h.d.Service.Account(q.r.Context(), id)
		if err != nil {
			return nil, err
		}
		if acc.Status != acme.StatusValid {
			return nil, acme.Problemf(acme.Unauthorized, "account %s is %s", id, acc.Status)
		}
		if acc.ProvisionerName != "" && acc.ProvisionerName != q.prov.Info().Name {
			return nil, acme.Problemf(acme.AccountDoesNotExist, "account %s belongs to another provisioner", id)
		}
		out.jwk, out.account = acc.Key, acc
		q.fields["account"] = id
	}
	if out.jwk == nil || j.verify(out.jwk.Key) != nil {
		return nil, acme.Problemf(acme.Malformed, "the JWS signature is invalid")
	}
	out.payload = j.payload
	out.empty = len(j.payload) == 0
	return out, nil
}

// checkKey refuses weak account keys.
func checkKey(k *jose.JSONWebKey) error {
	switch pub := k.Key.(type) {
	case *rsa.PublicKey:
		if pub.N.BitLen() < 2048 {
			return acme.Problemf(acme.BadPublicKey, "RSA keys must be at least 2048 bits")
		}
	case *ecdsa.PublicKey, ed25519.PublicKey:
	default:
		return acme.Problemf(acme.BadPublicKey, "unsupported key type %T", k.Key)
	}
	return nil
}
