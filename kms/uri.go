package kms

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
)

// MaxURILen bounds a key URI before it is parsed.
const MaxURILen = 8 << 10

// URI is a parsed key URI as step writes them: an opaque URI whose
// attributes are ';'-separated key=value pairs, with optional query
// parameters ("pkcs11:module-path=/x.so;token=t?pin-value=1234", RFC 7512
// style). Attributes in the path win over the query.
type URI struct {
	Scheme string
	path   url.Values
	query  url.Values
}

// Scheme returns the scheme of s when s looks like a key URI
// ("pkcs11:..."), lower case; "" for a file path (including "C:\..." style
// drive letters, which are one letter).
func Scheme(s string) string {
	i := strings.IndexByte(s, ':')
	if i < 2 {
		return ""
	}
	for _, c := range s[:i] {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.') {
			return ""
		}
	}
	return strings.ToLower(s[:i])
}

// IsURI reports whether key is a key URI rather than a file path.
func IsURI(key string) bool { return Scheme(key) != "" }

// ParseURI parses a key URI. It fails for a bare path, an oversized input
// or a malformed escape, naming the attribute.
func ParseURI(s string) (*URI, error) {
	if len(s) > MaxURILen {
		return nil, fmt.Errorf("key URI is longer than %d bytes", MaxURILen)
	}
	scheme := Scheme(s)
	if scheme == "" {
		return nil, fmt.Errorf("%q is not a key URI (want scheme:attributes)", redact(s))
	}
	rest := s[len(scheme)+1:]
	rawQuery := ""
	if i := strings.IndexByte(rest, '?'); i >= 0 {
		rest, rawQuery = rest[:i], rest[i+1:]
	}
	u := &URI{Scheme: scheme, path: url.Values{}, query: url.Values{}}
	for _, part := range strings.Split(rest, ";") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		dk, err := url.PathUnescape(k)
		if err != nil {
			return nil, fmt.Errorf("key URI: bad escape in attribute name %q", k)
		}
		dv, err := url.PathUnescape(v)
		if err != nil {
			return nil, fmt.Errorf("key URI: bad escape in attribute %q", dk)
		}
		u.path.Add(dk, dv)
	}
	if rawQuery != "" {
		q, err := url.ParseQuery(rawQuery)
		if err != nil {
			return nil, fmt.Errorf("key URI: bad query: %w", err)
		}
		u.query = q
	}
	return u, nil
}

// redact hides anything after '?' (pin-value lives there) in messages.
func redact(s string) string {
	if i := strings.IndexByte(s, '?'); i >= 0 {
		return s[:i] + "?…"
	}
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// Redact returns s with its query (which may hold a PIN) elided, for logs
// and error messages.
func Redact(s string) string { return redact(s) }

// Get returns the attribute key, from the path first, then the query.
func (u *URI) Get(key string) string {
	if v := u.path.Get(key); v != "" {
		return v
	}
	return u.query.Get(key)
}

// Has reports whether the attribute is present (even empty).
func (u *URI) Has(key string) bool {
	return u.path.Has(key) || u.query.Has(key)
}

// GetEncoded returns the attribute as bytes: hex-decoded when it is an
// even-length hex string (optionally 0x-prefixed), as step reads PKCS#11
// ids ("id=7331" is the two bytes 0x73 0x31), else the raw bytes.
func (u *URI) GetEncoded(key string) []byte {
	v := u.Get(key)
	if v == "" {
		return nil
	}
	h := strings.TrimPrefix(v, "0x")
	if len(h)%2 == 0 {
		if b, err := hex.DecodeString(h); err == nil {
			return b
		}
	}
	return []byte(v)
}

// MaxPinFile bounds a pin-source file.
const MaxPinFile = 4 << 10

// Pin returns pin-value, or the first line of the pin-source file.
func (u *URI) Pin() (string, error) {
	if v := u.Get("pin-value"); v != "" {
		return v, nil
	}
	src := u.Get("pin-source")
	if src == "" {
		return "", nil
	}
	if strings.HasPrefix(src, "file://") {
		src = strings.TrimPrefix(src, "file://")
	}
	f, err := os.Open(src)
	if err != nil {
		return "", fmt.Errorf("pin-source: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxPinFile+1))
	if err != nil {
		return "", fmt.Errorf("pin-source: %w", err)
	}
	if len(b) > MaxPinFile {
		return "", fmt.Errorf("pin-source %s: larger than %d bytes", src, MaxPinFile)
	}
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		b = b[:i]
	}
	return string(bytes.TrimRight(b, "\r")), nil
}
