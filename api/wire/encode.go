package wire

import (
	"encoding/json"
	"unicode/utf8"
)

// AppendJSON appends r encoded exactly as json.Marshal encodes it, without
// reflection: the CA answers one per certificate, and its strings are PEM
// (ASCII lines), so the work is a scan and a copy. tlsOptions, when r has
// them, are passed already encoded (json.Marshal of the RawMessage, which
// compacts it and escapes HTML characters); see EncodeRaw.
func (r *SignResponse) AppendJSON(dst []byte, tlsOptions []byte) []byte {
	dst = append(dst, `{"crt":`...)
	dst = appendString(dst, r.Certificate)
	dst = append(dst, `,"ca":`...)
	if r.CA == nil {
		dst = append(dst, "null"...)
	} else {
		dst = appendString(dst, *r.CA)
	}
	dst = append(dst, `,"certChain":`...)
	if r.CertChain == nil {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, '[')
		for i, s := range r.CertChain {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendString(dst, s)
		}
		dst = append(dst, ']')
	}
	if len(r.TLSOptions) > 0 {
		dst = append(dst, `,"tlsOptions":`...)
		dst = append(dst, tlsOptions...)
	}
	return append(dst, '}')
}

// EncodeRaw returns raw as json.Marshal encodes a json.RawMessage field.
func EncodeRaw(raw json.RawMessage) ([]byte, error) {
	return json.Marshal(raw)
}

const hex = "0123456789abcdef"

// htmlSafe marks the bytes encoding/json copies as they are: ASCII from
// 0x20 (DEL included) except the quote, the backslash and < > &. Bytes
// from 0x80 start a UTF-8 sequence and are checked as runes.
var htmlSafe = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// appendString appends s as a JSON string exactly as encoding/json does
// (with its default HTML escaping): \" \\ \n \r \t \b \f, other control
// characters and < > & as \u00XX, U+2028 and U+2029 escaped, invalid UTF-8
// as \ufffd.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		// PEM is runs of 64 safe bytes between newlines: skip them with
		// one table lookup per byte.
		for i < len(s) && htmlSafe[s[i]] {
			i++
		}
		if i == len(s) {
			break
		}
		if c := s[i]; c < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
