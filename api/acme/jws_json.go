package acme

import (
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// The outer JWS object and the protected header are read by the small
// scanner below rather than by encoding/json's reflection decoder, for two
// reasons. Speed: every ACME request goes through here. Strictness:
// encoding/json matches member names case-insensitively ("Protected",
// "ALG") and keeps the last of duplicate members, while go-jose (and the
// step-ca it stands in for) match exactly and refuse duplicates; a JWS one
// parser reads differently from the other is the classic signature-bypass
// shape, so we refuse both. The scanner only splits members: the protected
// header is first checked with json.Valid, and string values with escapes
// are unquoted by encoding/json.

// maxHeaderMembers bounds the members of a protected header (an ACME
// header has four or five).
const maxHeaderMembers = 16

// scanner walks a JSON text; pos is the offset of the next byte.
type scanner struct {
	b   []byte
	pos int
}

func (s *scanner) ws() {
	for s.pos < len(s.b) {
		switch s.b[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// eat consumes c (after whitespace) if it is next.
func (s *scanner) eat(c byte) bool {
	s.ws()
	if s.pos < len(s.b) && s.b[s.pos] == c {
		s.pos++
		return true
	}
	return false
}

// atEnd reports whether only whitespace is left.
func (s *scanner) atEnd() bool {
	s.ws()
	return s.pos == len(s.b)
}

// name reads a member name: a string without escapes (no legitimate ACME
// member name needs one, and refusing them keeps names byte-comparable).
func (s *scanner) name(where string) ([]byte, error) {
	if !s.eat('"') {
		return nil, s.errorf(where, "a member name")
	}
	start := s.pos
	for s.pos < len(s.b) {
		switch c := s.b[s.pos]; {
		case c == '"':
			n := s.b[start:s.pos]
			s.pos++
			if !s.eat(':') {
				return nil, s.errorf(where, "':' after a member name")
			}
			return n, nil
		case c == '\\':
			return nil, fmt.Errorf("%s has an escaped member name at byte %d", where, s.pos)
		case c < 0x20:
			return nil, s.errorf(where, "a closing '\"'")
		}
		s.pos++
	}
	return nil, s.errorf(where, "a closing '\"'")
}

// b64 reads a string value whose characters must all be of the base64url
// alphabet (RFC 4648 §5, no padding: RFC 7515 §2), and returns them.
func (s *scanner) b64(where, member string) ([]byte, error) {
	if !s.eat('"') {
		return nil, fmt.Errorf("%s member %q is not a string (byte %d)", where, member, s.pos)
	}
	start := s.pos
	for s.pos < len(s.b) {
		c := s.b[s.pos]
		if c == '"' {
			v := s.b[start:s.pos]
			s.pos++
			return v, nil
		}
		if !isB64URL(c) {
			if c == '=' {
				return nil, fmt.Errorf("%s member %q is padded base64 (byte %d); RFC 7515 §2 requires unpadded base64url", where, member, s.pos)
			}
			return nil, fmt.Errorf("%s member %q is not unpadded base64url: byte %d is %q", where, member, s.pos, c)
		}
		s.pos++
	}
	return nil, s.errorf(where, "a closing '\"'")
}

func isB64URL(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_'
}

// value skips one JSON value and returns its bytes. The text must already
// have passed json.Valid; the checks here only keep the scanner in bounds.
func (s *scanner) value(where string) ([]byte, error) {
	s.ws()
	start, depth, inString := s.pos, 0, false
	for s.pos < len(s.b) {
		c := s.b[s.pos]
		s.pos++
		switch {
		case inString:
			switch c {
			case '\\':
				s.pos++
			case '"':
				inString = false
				if depth == 0 {
					return s.b[start:s.pos], nil
				}
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			depth++
		case depth == 0 && (c == ',' || c == '}' || c == ']' || c == ' ' || c == '\t' || c == '\n' || c == '\r'):
			// the end of a number or literal
			s.pos--
			if s.pos == start {
				return nil, s.errorf(where, "a value")
			}
			return s.b[start:s.pos], nil
		case c == '}' || c == ']':
			depth--
			if depth == 0 {
				return s.b[start:s.pos], nil
			}
		}
	}
	if depth == 0 && !inString && s.pos > start {
		return s.b[start:s.pos], nil
	}
	return nil, s.errorf(where, "a value")
}

func (s *scanner) errorf(where, want string) error {
	if s.pos >= len(s.b) {
		return fmt.Errorf("%s is not valid JSON: it ends where %s was expected (byte %d)", where, want, s.pos)
	}
	return fmt.Errorf("%s is not valid JSON: %s was expected at byte %d, not %q", where, want, s.pos, s.b[s.pos])
}

// jsonString returns the string a JSON value holds; ok is false when the
// value is not a string (null included).
func jsonString(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", false
	}
	inner := raw[1 : len(raw)-1]
	plain := utf8.Valid(inner)
	for _, c := range inner {
		if c == '\\' || c < 0x20 {
			plain = false
			break
		}
	}
	if plain {
		return string(inner), true
	}
	// Escapes (or invalid UTF-8, which encoding/json turns into U+FFFD as
	// go-jose's decoder does).
	var v string
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", false
	}
	return v, true
}

// quoteName quotes an untrusted member name for an error message, cut to a
// readable length.
func quoteName(n []byte) string {
	const max = 32
	if len(n) > max {
		return fmt.Sprintf("%q...", n[:max])
	}
	return fmt.Sprintf("%q", n)
}
