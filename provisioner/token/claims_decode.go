package token

import (
	"encoding/json"

	"github.com/mayfly-pki/mayfly/internal/jsonscan"
)

// The CA decodes the claims of one token per sign request, and
// json.Unmarshal spends several µs on reflection (and on a second decoder
// inside Audience.UnmarshalJSON) for what is nearly always the same flat
// object. decodeClaims has a hand-written fast path for the shape the step
// CLI and this project's own minting write for X.509 sign, renew and revoke
// tokens; anything else, errors included, goes to json.Unmarshal, so the
// result and every error text stay encoding/json's own.

// decodeClaims decodes b into *c exactly as json.Unmarshal(b, c) does.
func decodeClaims(b []byte, c *Claims) error {
	// json.Unmarshal merges into a non-zero *c (absent keys keep their old
	// values, slices and maps are reused), which the fast path's whole-value
	// result cannot reproduce.
	if isZeroClaims(c) {
		if v, ok := decodeClaimsFast(b); ok {
			*c = v
			return nil
		}
	}
	return json.Unmarshal(b, c)
}

// isZeroClaims reports whether c is exactly the zero Claims. Slices and maps
// must be nil, not merely empty: json.Unmarshal decodes into an existing
// empty map or slice differently from a nil one.
func isZeroClaims(c *Claims) bool {
	return c.Audience == nil && c.Cnf == nil && c.Expiry == nil && c.IssuedAt == nil &&
		c.Issuer == "" && c.ID == "" && c.NotBefore == nil && c.SANs == nil &&
		c.SHA == "" && c.Step == nil && c.Subject == "" && c.User == nil
}

// Keys the fast path knows, as indexes.
const (
	ckAud = iota
	ckExp
	ckIat
	ckIss
	ckJti
	ckNbf
	ckSans
	ckSha
	ckSub
	ckUser
	numClaimKeys
)

// claimSpan is a range of array element indexes (see addElem).
type claimSpan struct{ start, end int }

// maxExactSeconds is the largest integer the fast path decodes as a
// NumericDate: every integer up to 2^53 is exact in a float64, so
// NumericDate.UnmarshalJSON's ParseFloat and int64 conversion give the
// integer itself. Larger ones (which may round) fall back.
const maxExactSeconds = 1 << 53

// claimsDecoder is the state of the fast path: the scanner (input, read
// position, one buffer for the unescaped contents of every string, so that
// all decoded strings share a single allocation) and the spans of the elements
// of the aud and sans arrays: the first ones in an array that stays on the
// stack, any further ones in a slice.
type claimsDecoder struct {
	*jsonscan.Scanner
	elems  [16]jsonscan.Span
	nElems int
	more   []jsonscan.Span
}

// addElem records the span of the next array element.
func (d *claimsDecoder) addElem(s jsonscan.Span) {
	if d.nElems < len(d.elems) {
		d.elems[d.nElems] = s
	} else {
		d.more = append(d.more, s)
	}
	d.nElems++
}

// elem returns the span of array element i.
func (d *claimsDecoder) elem(i int) jsonscan.Span {
	if i < len(d.elems) {
		return d.elems[i]
	}
	return d.more[i-len(d.elems)]
}

// claimsValues is what the fast path read, before the Claims is built.
type claimsValues struct {
	seen [numClaimKeys]bool
	// str holds aud when it is a string, iss, jti, sha and sub.
	str [numClaimKeys]jsonscan.Span
	// audArray is set when aud is an array; its elements are the
	// decoder's elements audElems.start to audElems.end (excluded), and
	// sans's are sansElems.start to sansElems.end.
	audArray            bool
	audElems, sansElems claimSpan
	// num holds exp, iat and nbf.
	num [numClaimKeys]int64
}

// decodeClaimsFast decodes the shapes the CA usually sees: one JSON object,
// surrounded by JSON whitespace, whose keys are a subset of "aud", "exp",
// "iat", "iss", "jti", "nbf", "sans", "sha", "sub" and "user" (each spelled
// exactly as tagged, at most once, without escapes), where
//
//   - iss, jti, sha and sub are strings, aud a string or an array of
//     strings, sans an array of strings; every string is made of printable
//     ASCII and the escapes \" \\ \/ \n \r \t;
//   - exp, iat and nbf are integers in plain decimal, without sign,
//     fraction or exponent, no larger than 2^53;
//   - user is the empty object {} (as `step ca token` writes).
//
// For anything else it reports false and the caller must fall back to
// json.Unmarshal; it never fails in any other way.
func decodeClaimsFast(b []byte) (Claims, bool) {
	d := claimsDecoder{Scanner: jsonscan.New(b)}
	var v claimsValues
	if !d.object(&v) {
		return Claims{}, false
	}
	return d.build(&v), true
}

// object reads the whole input as one object, with only whitespace after it.
func (d *claimsDecoder) object(v *claimsValues) bool {
	d.SkipSpace()
	if !d.Consume('{') {
		return false
	}
	d.SkipSpace()
	if !d.Consume('}') {
		for {
			k, ok := d.key()
			// encoding/json keeps the last of duplicate keys (and merges
			// arrays and objects): rare enough to leave to it.
			if !ok || v.seen[k] {
				return false
			}
			v.seen[k] = true
			d.SkipSpace()
			if !d.Consume(':') {
				return false
			}
			d.SkipSpace()
			if !d.value(k, v) {
				return false
			}
			d.SkipSpace()
			if d.Consume('}') {
				break
			}
			if !d.Consume(',') {
				return false
			}
			d.SkipSpace()
		}
	}
	return d.AtEnd()
}

// value reads the value of key k into v.
func (d *claimsDecoder) value(k int, v *claimsValues) bool {
	var ok bool
	switch k {
	case ckAud:
		if d.Pos < len(d.In) && d.In[d.Pos] == '[' {
			v.audArray = true
			v.audElems, ok = d.strArray()
		} else {
			v.str[k], ok = d.String()
		}
	case ckIss, ckJti, ckSha, ckSub:
		v.str[k], ok = d.String()
	case ckSans:
		v.sansElems, ok = d.strArray()
	case ckExp, ckIat, ckNbf:
		v.num[k], ok = d.seconds()
	case ckUser:
		// Only the empty object: json.Unmarshal makes an empty map.
		if ok = d.Consume('{'); ok {
			d.SkipSpace()
			ok = d.Consume('}')
		}
	}
	return ok
}

// build makes the Claims from the decoded values, with at most four
// allocations: the strings (one buffer, shared by all the strings), the
// elements of aud and sans (one array), the times (one array) and the user
// map. Sharing is invisible to callers: no string is ever modified, the
// slices are capped so that an append copies, and each time has its own
// element.
func (d *claimsDecoder) build(v *claimsValues) Claims {
	s := d.Buf.String()
	sub := func(sp jsonscan.Span) string { return s[sp.Start:sp.End] }
	c := Claims{
		Issuer:  sub(v.str[ckIss]),
		ID:      sub(v.str[ckJti]),
		SHA:     sub(v.str[ckSha]),
		Subject: sub(v.str[ckSub]),
	}
	// Elements of aud then sans. An empty array gives a non-nil empty
	// slice, as json.Unmarshal does.
	nAud, nSans := 0, 0
	if v.seen[ckAud] {
		nAud = 1
		if v.audArray {
			nAud = v.audElems.end - v.audElems.start
		}
	}
	if v.seen[ckSans] {
		nSans = v.sansElems.end - v.sansElems.start
	}
	if v.seen[ckAud] || v.seen[ckSans] {
		strs := make([]string, nAud+nSans)
		if v.seen[ckAud] {
			if v.audArray {
				for i := range nAud {
					strs[i] = sub(d.elem(v.audElems.start + i))
				}
			} else {
				strs[0] = sub(v.str[ckAud])
			}
			c.Audience = Audience(strs[:nAud:nAud])
		}
		if v.seen[ckSans] {
			for i := range nSans {
				strs[nAud+i] = sub(d.elem(v.sansElems.start + i))
			}
			c.SANs = strs[nAud : nAud+nSans : nAud+nSans]
		}
	}
	if v.seen[ckExp] || v.seen[ckIat] || v.seen[ckNbf] {
		dates := new([3]NumericDate)
		if v.seen[ckExp] {
			dates[0] = NumericDate(v.num[ckExp])
			c.Expiry = &dates[0]
		}
		if v.seen[ckIat] {
			dates[1] = NumericDate(v.num[ckIat])
			c.IssuedAt = &dates[1]
		}
		if v.seen[ckNbf] {
			dates[2] = NumericDate(v.num[ckNbf])
			c.NotBefore = &dates[2]
		}
	}
	if v.seen[ckUser] {
		c.User = map[string]any{}
	}
	return c
}

// key reads a quoted key and reports which field it names. Only the exact
// tag spellings are accepted: encoding/json also matches other cases
// ("AUD", "Sub"), case foldings of non-ASCII letters ("ſub", with U+017F)
// and escaped spellings ("\u0073ub"), which all fall back, as do keys of
// fields the fast path does not decode (cnf, step) and unknown keys. A key
// with an escaped quote cannot be mistaken for a known one: its contents up
// to the first quote end in a backslash.
func (d *claimsDecoder) key() (int, bool) {
	name, ok := d.Key()
	if !ok {
		return 0, false
	}
	switch string(name) {
	case "aud":
		return ckAud, true
	case "exp":
		return ckExp, true
	case "iat":
		return ckIat, true
	case "iss":
		return ckIss, true
	case "jti":
		return ckJti, true
	case "nbf":
		return ckNbf, true
	case "sans":
		return ckSans, true
	case "sha":
		return ckSha, true
	case "sub":
		return ckSub, true
	case "user":
		return ckUser, true
	}
	return 0, false
}

// seconds reads a NumericDate the fast path can decode exactly: digits
// only, without a leading zero (invalid JSON), up to maxExactSeconds. A
// sign, fraction, exponent, null or anything else falls back (the caller
// rejects a '.', 'e' or 'E' after the digits, as it expects ',' or '}').
func (d *claimsDecoder) seconds() (int64, bool) {
	in, i := d.In, d.Pos
	var n int64
	for i < len(in) && in[i] >= '0' && in[i] <= '9' {
		if i-d.Pos == 16 { // 17 digits: beyond 2^53 whatever they are
			return 0, false
		}
		n = n*10 + int64(in[i]-'0')
		i++
	}
	digits := i - d.Pos
	if digits == 0 || (digits > 1 && in[d.Pos] == '0') || n > maxExactSeconds {
		return 0, false
	}
	d.Pos = i
	return n, true
}

// strArray reads an array of strings and returns the range of element
// indexes (see addElem) that holds their spans. null elements (which json.Unmarshal leaves as "") fall
// back.
func (d *claimsDecoder) strArray() (claimSpan, bool) {
	if !d.Consume('[') {
		return claimSpan{}, false
	}
	r := claimSpan{start: d.nElems}
	d.SkipSpace()
	if !d.Consume(']') {
		for {
			s, ok := d.String()
			if !ok {
				return claimSpan{}, false
			}
			d.addElem(s)
			d.SkipSpace()
			if d.Consume(']') {
				break
			}
			if !d.Consume(',') {
				return claimSpan{}, false
			}
			d.SkipSpace()
		}
	}
	r.end = d.nElems
	return r, true
}
