package csrparse

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// asn1Pointer matches the pointer values that encoding/asn1 prints in its
// "tags don't match" errors (it formats its field parameters with %+v),
// which make x509's own error text differ from one call to the next.
var asn1Pointer = regexp.MustCompile(`(tag|defaultValue):0x[0-9a-f]+`)

// sameError reports whether two errors are the same up to those pointers.
func sameError(a, b error) bool {
	if a == nil || b == nil {
		return a == b
	}
	return reflect.TypeOf(a) == reflect.TypeOf(b) &&
		asn1Pointer.ReplaceAllString(a.Error(), "$1:PTR") == asn1Pointer.ReplaceAllString(b.Error(), "$1:PTR")
}

// checkEquivalent asserts that Parse and the fast path agree with
// x509.ParseCertificateRequest on der, and reports whether the fast path
// handled it.
func checkEquivalent(t testing.TB, der []byte) (fast bool) {
	t.Helper()
	want, wantErr := x509.ParseCertificateRequest(der)

	fastCSR, fast := fastParse(der)
	if fast {
		if wantErr != nil {
			t.Fatalf("fast path accepted a request x509 rejects (%v)\nder: %x", wantErr, der)
		}
		if !reflect.DeepEqual(fastCSR, want) {
			t.Fatalf("fast path result differs from x509:\n%s\nder: %x", diff(fastCSR, want), der)
		}
	}

	got, gotErr := Parse(der)
	switch {
	case (gotErr == nil) != (wantErr == nil):
		t.Fatalf("Parse error = %v, x509 error = %v\nder: %x", gotErr, wantErr, der)
	case !sameError(gotErr, wantErr):
		t.Fatalf("Parse error = %q (%T), x509 error = %q (%T)\nder: %x", gotErr, gotErr, wantErr, wantErr, der)
	case !reflect.DeepEqual(got, want):
		t.Fatalf("Parse result differs from x509:\n%s\nder: %x", diff(got, want), der)
	}
	return fast
}

// checkAliasing parses private copies of der with Parse and with x509,
// overwrites both copies, and checks the results are still equal: a field
// that aliases the input in one parser must alias it in the other.
func checkAliasing(t testing.TB, der []byte) {
	t.Helper()
	a, b := bytes.Clone(der), bytes.Clone(der)
	got, err1 := Parse(a)
	want, err2 := x509.ParseCertificateRequest(b)
	if err1 != nil || err2 != nil {
		return
	}
	for i := range a {
		a[i] ^= 0x5a
		b[i] ^= 0x5a
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("results alias the input differently:\n%s", diff(got, want))
	}
}

// diff describes the top-level fields in which two requests differ.
func diff(got, want *x509.CertificateRequest) string {
	if got == nil || want == nil {
		return fmt.Sprintf("got %v, want %v", got, want)
	}
	var sb strings.Builder
	g, w := reflect.ValueOf(got).Elem(), reflect.ValueOf(want).Elem()
	for i := range g.NumField() {
		gf, wf := g.Field(i).Interface(), w.Field(i).Interface()
		if !reflect.DeepEqual(gf, wf) {
			fmt.Fprintf(&sb, "%s:\n   got %s\n  want %s\n", g.Type().Field(i).Name, show(gf), show(wf))
		}
	}
	return sb.String()
}

// show formats v with Go syntax, marking nil slices (which DeepEqual
// distinguishes from empty ones) and truncating huge values.
func show(v any) string {
	s := fmt.Sprintf("%#v", v)
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Slice && rv.IsNil() {
		s += " (nil)"
	}
	if len(s) > 2000 {
		s = s[:2000] + "…"
	}
	return s
}

// readPEMs returns the DER of every PEM block in testdata files matching
// pattern, keyed by file name.
func readPEMs(t testing.TB, pattern string) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", pattern))
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata matching %q: %v", pattern, err)
	}
	out := map[string][]byte{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		block, _ := pem.Decode(data)
		if block == nil {
			t.Fatalf("%s: no PEM block", f)
		}
		out[filepath.Base(f)] = block.Bytes
	}
	return out
}
