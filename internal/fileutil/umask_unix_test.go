//go:build unix

package fileutil

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// The mode is applied even under a restrictive or permissive umask: the
// explicit chmod makes the result independent of it. Umask is process-wide,
// so this test is not parallel.
func TestWriteFileIgnoresUmask(t *testing.T) {
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)
	path := filepath.Join(t.TempDir(), "f")
	if err := WriteFile(path, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o644 {
		t.Fatalf("mode = %v, want 0644", fi.Mode().Perm())
	}
}
