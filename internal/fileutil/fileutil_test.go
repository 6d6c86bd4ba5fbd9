package fileutil

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestWriteFileModesAndContent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		perm os.FileMode
	}{
		{"secret", 0o600},
		{"public", 0o644},
		{"exec", 0o755},
		{"read-only", 0o400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			path := filepath.Join(dir, "f")
			if err := WriteFile(path, []byte("hello"), tt.perm); err != nil {
				t.Fatal(err)
			}
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != tt.perm {
				t.Fatalf("mode = %v, want %v", fi.Mode().Perm(), tt.perm)
			}
			if b, _ := os.ReadFile(path); string(b) != "hello" {
				t.Fatalf("content = %q", b)
			}
			if names := listDir(t, dir); len(names) != 1 {
				t.Fatalf("directory holds %v, want only f", names)
			}
		})
	}
}

func TestWriteFileReplacesAndNarrowsMode(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "key")
	if err := os.WriteFile(path, []byte("old content that is longer"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(path, []byte("new"), 0o600); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode = %v, want 0600", fi.Mode().Perm())
	}
	if b, _ := os.ReadFile(path); string(b) != "new" {
		t.Fatalf("content = %q", b)
	}
}

// The rename fails because path is a non-empty directory: nothing at path
// changes and no temporary file is left behind.
func TestWriteFileFailureLeavesOldState(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "target")
	if err := os.Mkdir(path, 0o700); err != nil {
		t.Fatal(err)
	}
	inner := filepath.Join(path, "keep")
	if err := os.WriteFile(inner, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := WriteFile(path, []byte("new"), 0o600)
	if err == nil {
		t.Fatal("WriteFile over a non-empty directory succeeded")
	}
	if !strings.Contains(err.Error(), path) {
		t.Fatalf("error %q does not name %s", err, path)
	}
	if b, _ := os.ReadFile(inner); string(b) != "old" {
		t.Fatalf("old content changed: %q", b)
	}
	if names := listDir(t, dir); len(names) != 1 || names[0] != "target" {
		t.Fatalf("directory holds %v, want only target (temp file left behind?)", names)
	}
}

// An unwritable directory: the old file keeps its content and mode. Root
// ignores directory permissions, so the test needs an unprivileged user.
func TestWriteFileUnwritableDir(t *testing.T) {
	t.Parallel()
	if os.Geteuid() == 0 {
		t.Skip("running as root: directory permissions are not enforced")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(dir, 0o700) })
	err := WriteFile(path, []byte("new"), 0o600)
	if !errors.Is(err, os.ErrPermission) {
		t.Fatalf("err = %v, want permission error", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "old" {
		t.Fatalf("old content changed: %q", b)
	}
	if names := listDir(t, dir); len(names) != 1 {
		t.Fatalf("directory holds %v, want only f", names)
	}
}

func TestWriteFileMissingDir(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "missing", "f")
	if err := WriteFile(path, []byte("x"), 0o600); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("err = %v, want ErrNotExist", err)
	}
}

func TestReadPasswordFile(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, content, want string
		wantErr             error
	}{
		{"plain", "secret", "secret", nil},
		{"newline", "secret\n", "secret", nil},
		{"crlf", "secret\r\n", "secret", nil},
		{"trailing spaces and tabs", "secret \t \n\n", "secret", nil},
		{"inner and leading spaces kept", "  my secret", "  my secret", nil},
		{"second line kept", "a\nb\n", "a\nb", nil},
		{"empty", "", "", ErrEmptyPassword},
		{"only whitespace", " \r\n\t\n", "", ErrEmptyPassword},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "pw")
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := ReadPasswordFile(path)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), path) {
					t.Fatalf("err = %v, want %v naming %s", err, tt.wantErr, path)
				}
				return
			}
			if err != nil || string(got) != tt.want {
				t.Fatalf("ReadPasswordFile = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	missing := filepath.Join(t.TempDir(), "nope")
	if _, err := ReadPasswordFile(missing); !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Fatalf("missing file: err = %v", err)
	}
}
