package ui

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Tests run with stdin not a terminal (go test), which is the batch-mode path.

func TestWriteFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	if err := WriteFile(path, []byte("one"), 0o600, false); err != nil {
		t.Fatal(err)
	}
	err := WriteFile(path, []byte("two"), 0o600, false)
	if err == nil || err.Error() != "file "+path+" already exists: use --force to overwrite" {
		t.Fatalf("overwrite without force: %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "one" {
		t.Fatalf("file changed to %q", b)
	}
	if err := WriteFile(path, []byte("two"), 0o644, true); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(path)
	if b, _ := os.ReadFile(path); string(b) != "two" || st.Mode().Perm() != 0o644 {
		t.Fatalf("forced write: %q %v", b, st.Mode().Perm())
	}
	if err := WriteFile(filepath.Join(dir, "missing", "f"), []byte("x"), 0o600, true); err == nil {
		t.Fatalf("write into a missing directory: want error")
	}
}

func TestReadPassword(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	f := filepath.Join(dir, "pass")
	if err := os.WriteFile(f, []byte("s3cret \n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if pw, err := ReadPassword(PasswordFile{File: f, Flag: "password-file"}, "prompt"); err != nil || string(pw) != "s3cret" {
		t.Fatalf("ReadPassword(file) = %q, %v", pw, err)
	}
	if _, err := ReadPassword(PasswordFile{File: filepath.Join(dir, "nope")}, "prompt"); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("missing password file: %v", err)
	}
	_, err := ReadPassword(PasswordFile{Flag: "ca-password-file"}, "prompt")
	if !errors.Is(err, ErrNotTerminal) || err.Error() != "a password is required: use --ca-password-file: stdin is not a terminal" {
		t.Fatalf("no terminal: %v", err)
	}
	_, err = ReadPassword(PasswordFile{}, "prompt")
	if !errors.Is(err, ErrNotTerminal) || err.Error() != "a password is required: stdin is not a terminal" {
		t.Fatalf("no terminal, no flag: %v", err)
	}
}

func TestConfirm(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want bool
	}{
		{"\n", true}, {"y\n", true}, {"Yes\n", true}, {"n\n", false}, {"no\n", false}, {"", true}, {"whatever\n", false},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		got, err := confirm(strings.NewReader(tt.in), &out, "Would you like to overwrite f")
		if err != nil || got != tt.want || out.String() != "Would you like to overwrite f [Y/n]: " {
			t.Errorf("confirm(%q) = %v, %v (prompt %q)", tt.in, got, err, out.String())
		}
	}
}
