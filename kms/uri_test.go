package kms

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseURI(t *testing.T) {
	t.Parallel()
	u, err := ParseURI("pkcs11:module-path=/usr/lib/softhsm/libsofthsm2.so;token=my%20token;id=7331?pin-value=1234&object=q")
	if err != nil {
		t.Fatal(err)
	}
	if u.Scheme != "pkcs11" || u.Get("module-path") != "/usr/lib/softhsm/libsofthsm2.so" || u.Get("token") != "my token" {
		t.Fatalf("parsed %+v", u)
	}
	if p, _ := u.Pin(); p != "1234" {
		t.Fatalf("Pin = %q", p)
	}
	if !bytes.Equal(u.GetEncoded("id"), []byte{0x73, 0x31}) {
		t.Fatalf("id = %x", u.GetEncoded("id"))
	}
	if u.Get("object") != "q" || !u.Has("token") || u.Has("serial") {
		t.Fatalf("query/has wrong")
	}
	if got := (&URI{path: map[string][]string{"id": {"abc"}}}).GetEncoded("id"); string(got) != "abc" {
		t.Fatalf("non-hex id = %q", got)
	}
	for _, bad := range []string{"/etc/key.pem", "C:\\key", "pkcs11:id=%zz", strings.Repeat("a", MaxURILen) + ":x"} {
		if _, err := ParseURI(bad); err == nil {
			t.Errorf("ParseURI(%q) succeeded", bad[:min(len(bad), 20)])
		}
	}
	if _, err := ParseURI("pkcs11:id=1?pin-value=secret%zz"); err == nil || strings.Contains(err.Error(), "secret") {
		t.Errorf("bad query error = %v", err)
	}
}

func TestPinSource(t *testing.T) {
	t.Parallel()
	f := filepath.Join(t.TempDir(), "pin")
	if err := os.WriteFile(f, []byte("s3cret\r\nignored\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	u, err := ParseURI("pkcs11:token=a?pin-source=" + f)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := u.Pin(); err != nil || p != "s3cret" {
		t.Fatalf("Pin = %q, %v", p, err)
	}
	u, _ = ParseURI("pkcs11:token=a?pin-source=" + f + ".missing")
	if _, err := u.Pin(); err == nil {
		t.Fatal("missing pin-source accepted")
	}
}

func TestBackend(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		o    Options
		want string
	}{
		{Options{}, "softkms"},
		{Options{Type: "PKCS11"}, "pkcs11"},
		{Options{URI: "awskms:region=eu-west-1"}, "awskms"},
		{Options{Type: "cloudkms", URI: "pkcs11:x"}, "cloudkms"},
	} {
		if got := tc.o.Backend(); got != tc.want {
			t.Errorf("%+v.Backend() = %q, want %q", tc.o, got, tc.want)
		}
	}
}

func FuzzParseURI(f *testing.F) {
	f.Add("pkcs11:module-path=/x.so;token=t;id=7331?pin-value=1")
	f.Add("awskms:key-id=abc;region=us-east-1")
	f.Add("yubikey:slot-id=9c?pin-value=123456")
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseURI(s)
		if err != nil {
			return
		}
		if u.Scheme != Scheme(s) || u.Scheme == "" {
			t.Fatalf("scheme %q for %q", u.Scheme, s)
		}
		_ = u.GetEncoded("id")
	})
}
