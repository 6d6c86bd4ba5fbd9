package wire

import (
	"encoding/json"

	"github.com/mayfly-pki/mayfly/internal/jsonscan"
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

// decodeSignRequestFast decodes the shapes clients send: one JSON object
// whose keys are a subset of "csr", "ott", "notBefore" and "notAfter" (each
// spelled exactly as tagged, at most once, without escapes), each with a
// string value made of printable ASCII and the escapes \n \r \t \" \\ \/,
// surrounded by JSON whitespace. For anything else, including a time value
// timeutil.Parse rejects, it reports false and the caller must fall back to
// json.Unmarshal; it never fails in any other way.
func decodeSignRequestFast(b []byte) (SignRequest, bool) {
	d := jsonscan.New(b)
	spans, ok := object(d)
	if !ok {
		return SignRequest{}, false
	}
	return build(d.Buf.String(), spans)
}

// object reads the whole input as one object, with only whitespace after
// it. A field absent from the input keeps an empty span, which decodes the
// same as the zero value: "" for a string, and Parse("") is the zero
// TimeDuration.
func object(d *jsonscan.Scanner) (spans [numFields]jsonscan.Span, ok bool) {
	var seen [numFields]bool
	d.SkipSpace()
	if !d.Consume('{') {
		return spans, false
	}
	d.SkipSpace()
	if !d.Consume('}') {
		for {
			f, ok := field(d)
			// encoding/json keeps the last of duplicate keys; rare enough
			// to leave to it.
			if !ok || seen[f] {
				return spans, false
			}
			seen[f] = true
			d.SkipSpace()
			if !d.Consume(':') {
				return spans, false
			}
			d.SkipSpace()
			if spans[f], ok = d.String(); !ok {
				return spans, false
			}
			d.SkipSpace()
			if d.Consume('}') {
				break
			}
			if !d.Consume(',') {
				return spans, false
			}
			d.SkipSpace()
		}
	}
	return spans, d.AtEnd()
}

// build makes the SignRequest from the decoded strings. CSR and OTT are
// substrings of s, so each keeps the other's bytes alive: they live and die
// together with the request anyway.
func build(s string, spans [numFields]jsonscan.Span) (SignRequest, bool) {
	sub := func(sp jsonscan.Span) string { return s[sp.Start:sp.End] }
	v := SignRequest{CSR: sub(spans[fieldCSR]), OTT: sub(spans[fieldOTT])}
	// TimeDuration.UnmarshalJSON unquotes the JSON string and calls Parse,
	// which is what this does; its error, wrapped or not, is left for
	// json.Unmarshal to produce.
	var err error
	if v.NotBefore, err = timeutil.Parse(sub(spans[fieldNotBefore])); err != nil {
		return SignRequest{}, false
	}
	if v.NotAfter, err = timeutil.Parse(sub(spans[fieldNotAfter])); err != nil {
		return SignRequest{}, false
	}
	return v, true
}

// field reads a key and reports which field it names. Only the exact tag
// spellings are accepted: encoding/json also matches other cases ("CSR",
// "notbefore") and escaped spellings ("\u0063sr"), which fall back.
func field(d *jsonscan.Scanner) (int, bool) {
	name, ok := d.Key()
	if !ok {
		return 0, false
	}
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
