package wire

import (
	"encoding/json"
	"strings"

	"github.com/mayfly-pki/mayfly/internal/timeutil"
)

// DecodeSignRequest decodes b into *r exactly as json.Unmarshal(b, r) does
// (r is normally a zero value).
//
// The CA decodes one SignRequest per certificate, and json.Unmarshal spends
// most of its time on reflection for what is, in practice, always the same
// flat object of four ASCII strings. A hand-written fast path accepts only
// that shape; anything else (errors included) goes to json.Unmarshal, so the
// result and every error text stay encoding/json's own.
func DecodeSignRequest(b []byte, r *SignRequest) error {
	// json.Unmarshal merges into a non-zero r (absent keys keep their old
	// values), which the fast path's whole-value result cannot reproduce.
	if isZeroSignRequest(r) {
		if v, ok := decodeSignRequestFast(b); ok {
			*r = v
			return nil
		}
	}
	return json.Unmarshal(b, r)
}

// isZeroSignRequest reports whether r is exactly the zero value. The
// TimeDurations are compared with == rather than IsZero: a time at the zero
// instant but with a location (time.Parse of "0001-01-01T00:00:00+00:00")
// is IsZero yet differs from the zero value, and json.Unmarshal would keep it.
func isZeroSignRequest(r *SignRequest) bool {
	var zeroTD timeutil.TimeDuration
	return r.CSR == "" && r.OTT == "" &&
		r.NotBefore == zeroTD && r.NotAfter == zeroTD &&
		r.TemplateData == nil
}

// Field indexes of the keys the fast path knows.
const (
	fieldCSR = iota
	fieldOTT
	fieldNotBefore
	fieldNotAfter
	numFields
)

// span is a field's unescaped contents, as offsets into fastDecoder.buf.
type span struct{ start, end int }

// fastDecoder is the state of the fast path: the input, the read position,
// and one buffer receiving the unescaped contents of every string value, so
// that all decoded strings share a single allocation.
type fastDecoder struct {
	in  []byte
	pos int
	buf strings.Builder
}

// decodeSignRequestFast decodes the shapes clients send: one JSON object
// whose keys are a subset of "csr", "ott", "notBefore" and "notAfter" (each
// spelled exactly as tagged, at most once, without escapes), each with a
// string value made of printable ASCII and the escapes \n \r \t \" \\ \/,
// surrounded by JSON whitespace. For anything else, including a time value
// timeutil.Parse rejects, it reports false and the caller must fall back to
// json.Unmarshal; it never fails in any other way.
func decodeSignRequestFast(b []byte) (SignRequest, bool) {
	d := fastDecoder{in: b}
	// The unescaped strings are never longer than the input.
	d.buf.Grow(len(b))
	spans, ok := d.object()
	if !ok {
		return SignRequest{}, false
	}
	return build(d.buf.String(), spans)
}

// object reads the whole input as one object, with only whitespace after
// it. A field absent from the input keeps an empty span, which decodes the
// same as the zero value: "" for a string, and Parse("") is the zero
// TimeDuration.
func (d *fastDecoder) object() (spans [numFields]span, ok bool) {
	var seen [numFields]bool
	d.skipSpace()
	if !d.consume('{') {
		return spans, false
	}
	d.skipSpace()
	if !d.consume('}') {
		for {
			f, ok := d.key()
			// encoding/json keeps the last of duplicate keys; rare enough
			// to leave to it.
			if !ok || seen[f] {
				return spans, false
			}
			seen[f] = true
			d.skipSpace()
			if !d.consume(':') {
				return spans, false
			}
			d.skipSpace()
			if spans[f], ok = d.str(); !ok {
				return spans, false
			}
			d.skipSpace()
			if d.consume('}') {
				break
			}
			if !d.consume(',') {
				return spans, false
			}
			d.skipSpace()
		}
	}
	d.skipSpace()
	return spans, d.pos == len(d.in)
}

// build makes the SignRequest from the decoded strings. CSR and OTT are
// substrings of s, so each keeps the other's bytes alive: they live and die
// together with the request anyway.
func build(s string, spans [numFields]span) (SignRequest, bool) {
	v := SignRequest{
		CSR: s[spans[fieldCSR].start:spans[fieldCSR].end],
		OTT: s[spans[fieldOTT].start:spans[fieldOTT].end],
	}
	// TimeDuration.UnmarshalJSON unquotes the JSON string and calls Parse,
	// which is what this does; its error, wrapped or not, is left for
	// json.Unmarshal to produce.
	var err error
	if v.NotBefore, err = timeutil.Parse(s[spans[fieldNotBefore].start:spans[fieldNotBefore].end]); err != nil {
		return SignRequest{}, false
	}
	if v.NotAfter, err = timeutil.Parse(s[spans[fieldNotAfter].start:spans[fieldNotAfter].end]); err != nil {
		return SignRequest{}, false
	}
	return v, true
}

// skipSpace skips JSON whitespace.
func (d *fastDecoder) skipSpace() {
	for d.pos < len(d.in) {
		switch d.in[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

// consume skips c if it is the next byte.
func (d *fastDecoder) consume(c byte) bool {
	if d.pos < len(d.in) && d.in[d.pos] == c {
		d.pos++
		return true
	}
	return false
}

// key reads a quoted key and reports which field it names. Only the exact
// tag spellings are accepted: encoding/json also matches other cases ("CSR",
// "notbefore") and escaped spellings ("\u0063sr"), which fall back. A key
// with an escaped quote cannot be mistaken for a known one: its contents up
// to the first quote end in a backslash.
func (d *fastDecoder) key() (int, bool) {
	if !d.consume('"') {
		return 0, false
	}
	start := d.pos
	for d.pos < len(d.in) && d.in[d.pos] != '"' {
		d.pos++
	}
	if d.pos == len(d.in) {
		return 0, false
	}
	name := d.in[start:d.pos]
	d.pos++
	switch string(name) {
	case "csr":
		return fieldCSR, true
	case "ott":
		return fieldOTT, true
	case "notBefore":
		return fieldNotBefore, true
	case "notAfter":
		return fieldNotAfter, true
	}
	return 0, false
}

// plain marks the bytes a string may hold unescaped on the fast path:
// printable ASCII except the quote and the backslash. Control bytes are
// invalid JSON, and DEL and non-ASCII bytes (which encoding/json validates
// as UTF-8, replacing invalid sequences) are left to encoding/json.
var plain = func() (t [256]bool) {
	for c := 0x20; c <= 0x7e; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// str reads a quoted string value, appends its unescaped contents to d.buf
// and returns where they are.
func (d *fastDecoder) str() (span, bool) {
	if !d.consume('"') {
		// null, numbers, objects... fall back.
		return span{}, false
	}
	start := d.buf.Len()
	for {
		d.buf.Write(d.plainRun())
		if d.pos == len(d.in) {
			return span{}, false
		}
		switch d.in[d.pos] {
		case '"':
			d.pos++
			return span{start, d.buf.Len()}, true
		case '\\':
			if d.pos+1 == len(d.in) {
				return span{}, false
			}
			c, ok := unescape(d.in[d.pos+1])
			if !ok {
				return span{}, false
			}
			d.buf.WriteByte(c)
			d.pos += 2
		default:
			return span{}, false
		}
	}
}

// plainRun skips the bytes that need no decoding and returns them. The
// loop works on locals, not d's fields, so that it compiles to a tight scan.
func (d *fastDecoder) plainRun() []byte {
	in, i := d.in, d.pos
	for i < len(in) && plain[in[i]] {
		i++
	}
	run := in[d.pos:i]
	d.pos = i
	return run
}

// unescape returns the byte a one-character escape stands for. \n is what
// PEM needs; \b, \f and \u (surrogates, invalid code points) fall back.
func unescape(c byte) (byte, bool) {
	switch c {
	case 'n':
		return '\n', true
	case 'r':
		return '\r', true
	case 't':
		return '\t', true
	case '"', '\\', '/':
		return c, true
	}
	return 0, false
}
