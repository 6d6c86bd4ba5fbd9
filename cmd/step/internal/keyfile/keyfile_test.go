package keyfile

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mayfly-pki/mayfly/cmd/step/internal/ui"
	"github.com/mayfly-pki/mayfly/internal/pemutil"
)

func TestReadPrivateKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := EncodePrivateKey(key, []byte("right"))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := EncodePrivateKey(key, nil)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	encFile, plainFile := write("enc.key", string(enc)), write("plain.key", string(plain))
	right, wrong := write("right", "right\n"), write("wrong", "wrong\n")
	garbage := write("garbage.key", "-----BEGIN EC PRIVATE KEY-----\nAAAA")

	if k, err := ReadPrivateKey(encFile, ui.PasswordFile{File: right, Flag: "password-file"}); err != nil || !k.(*ecdsa.PrivateKey).Equal(key) {
		t.Fatalf("right password: %v", err)
	}
	if k, err := ReadPrivateKey(plainFile, ui.PasswordFile{}); err != nil || !k.(*ecdsa.PrivateKey).Equal(key) {
		t.Fatalf("plain key: %v", err)
	}
	_, err = ReadPrivateKey(encFile, ui.PasswordFile{File: wrong, Flag: "password-file"})
	if !errors.Is(err, pemutil.ErrBadPassword) || !strings.Contains(err.Error(), encFile) || strings.Contains(err.Error(), "wrong\n") {
		t.Fatalf("wrong password: %v", err)
	}
	if _, err := ReadPrivateKey(encFile, ui.PasswordFile{}); !errors.Is(err, ui.ErrNotTerminal) || !strings.Contains(err.Error(), encFile) {
		t.Fatalf("no password in batch mode: %v", err)
	}
	if _, err := ReadPrivateKey(garbage, ui.PasswordFile{}); err == nil || !strings.Contains(err.Error(), garbage) {
		t.Fatalf("garbage: %v", err)
	}
	if _, err := ReadPrivateKey(filepath.Join(dir, "missing"), ui.PasswordFile{}); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("missing: %v", err)
	}
}

func TestNewPassword(t *testing.T) {
	t.Parallel()
	if p, err := NewPassword(ui.PasswordFile{}, true); p != nil || err != nil {
		t.Fatalf("no-password: %q %v", p, err)
	}
	if _, err := NewPassword(ui.PasswordFile{Flag: "password-file"}, false); err == nil || !strings.Contains(err.Error(), "--password-file") {
		t.Fatalf("batch mode: %v", err)
	}
	f := filepath.Join(t.TempDir(), "p")
	if err := os.WriteFile(f, []byte("pw\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if p, err := NewPassword(ui.PasswordFile{File: f, Flag: "password-file"}, false); err != nil || string(p) != "pw" {
		t.Fatalf("file: %q %v", p, err)
	}
}
