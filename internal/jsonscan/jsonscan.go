// Package jsonscan reads the small, flat JSON objects that the CA's fast
// decoders (api/wire's sign request, provisioner/token's claims) accept
// without reflection. It only recognises what those decoders need: JSON
// whitespace, single bytes, keys without escapes, and strings of printable
// ASCII with the escapes \" \\ \/ \n \r \t. Anything else makes a method
// report false, and the decoder then leaves the whole input to
// encoding/json, so errors and unusual inputs keep its exact behaviour.
package jsonscan

import "strings"

// Span is a decoded string, as offsets into Scanner.Buf.
type Span struct{ Start, End int }

// Scanner is a read position in In, and one buffer receiving the unescaped
// contents of every string read, so that all of a decoder's strings share a
// single allocation.
type Scanner struct {
	In  []byte
	Pos int
	Buf strings.Builder
}

// New returns a Scanner of in whose buffer can hold every string of in.
func New(in []byte) *Scanner {
	s := &Scanner{In: in}
	// Unescaped strings are never longer than the input.
	s.Buf.Grow(len(in))
	return s
}

// SkipSpace skips JSON whitespace.
func (s *Scanner) SkipSpace() {
	for s.Pos < len(s.In) {
		switch s.In[s.Pos] {
		case ' ', '\t', '\n', '\r':
			s.Pos++
		default:
			return
		}
	}
}

// Consume skips c if it is the next byte.
func (s *Scanner) Consume(c byte) bool {
	if s.Pos < len(s.In) && s.In[s.Pos] == c {
		s.Pos++
		return true
	}
	return false
}

// AtEnd skips whitespace and reports whether the input is exhausted
// (encoding/json refuses anything after the value).
func (s *Scanner) AtEnd() bool {
	s.SkipSpace()
	return s.Pos == len(s.In)
}

// Key reads a quoted key and returns its bytes up to the closing quote,
// unescaped or not: callers compare them with their exact tag spellings,
// and a key with an escape cannot equal one (up to its first quote it ends
// in a backslash, or it contains one).
func (s *Scanner) Key() ([]byte, bool) {
	if !s.Consume('"') {
		return nil, false
	}
	start := s.Pos
	for s.Pos < len(s.In) && s.In[s.Pos] != '"' {
		s.Pos++
	}
	if s.Pos == len(s.In) {
		return nil, false
	}
	s.Pos++
	return s.In[start : s.Pos-1], true
}

// plain marks the bytes a string may hold unescaped: printable ASCII except
// the quote and the backslash. Control bytes are invalid JSON, and DEL and
// non-ASCII bytes (which encoding/json validates as UTF-8, replacing
// invalid sequences) are left to encoding/json.
var plain = func() (t [256]bool) {
	for c := 0x20; c <= 0x7e; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// String reads a quoted string, appends its unescaped contents to Buf and
// returns where they are. null, numbers, objects and arrays report false.
func (s *Scanner) String() (Span, bool) {
	if !s.Consume('"') {
		return Span{}, false
	}
	start := s.Buf.Len()
	for {
		s.Buf.Write(s.plainRun())
		if s.Pos == len(s.In) {
			return Span{}, false
		}
		switch s.In[s.Pos] {
		case '"':
			s.Pos++
			return Span{start, s.Buf.Len()}, true
		case '\\':
			if s.Pos+1 == len(s.In) {
				return Span{}, false
			}
			c, ok := unescape(s.In[s.Pos+1])
			if !ok {
				return Span{}, false
			}
			s.Buf.WriteByte(c)
			s.Pos += 2
		default:
			return Span{}, false
		}
	}
}

// plainRun skips the bytes that need no decoding and returns them. The loop
// works on locals, not s's fields, so that it compiles to a tight scan.
func (s *Scanner) plainRun() []byte {
	in, i := s.In, s.Pos
	for i < len(in) && plain[in[i]] {
		i++
	}
	run := in[s.Pos:i]
	s.Pos = i
	return run
}

// unescape returns the byte a one-character escape stands for. \n is what
// PEM needs; \b, \f and \u (surrogates, invalid code points, the \u003c
// encoding/json writes for '<') are left to encoding/json.
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
