// Package fileutil writes files atomically and reads password files the way
// the step CLI does.
//
// All functions are safe for concurrent use on distinct paths. Concurrent
// WriteFile calls on the same path are safe in the sense that the final file is
// the complete content of one of the writers (last rename wins).
package fileutil

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"unicode"
)

// WriteFile writes data atomically: temp file in the same dir, write, fsync, chmod perm, rename over path,
// fsync the directory. On any error the old file (if any) is untouched and the temp file removed.
//
// One exception: if only the final directory fsync fails, the new content is
// already in place and the error says so ("fsync directory").
// perm is applied with an explicit chmod, so the process umask does not
// weaken or strengthen it. Errors name the path; they never contain data.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: create temporary file: %w", path, err)
	}
	tmpName := tmp.Name()
	committed := false
	defer func() {
		if !committed {
			_ = tmp.Close()
			_ = os.Remove(tmpName)
		}
	}()

	// Restrict the mode before any byte is written, so secrets are never
	// readable with a wider mode, even briefly.
	if err := tmp.Chmod(perm); err != nil {
		return fmt.Errorf("write %s: chmod temporary file: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("write %s: fsync: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: close temporary file: %w", path, err)
	}
	if err := os.Rename(tmpName, path); err != nil {
		return fmt.Errorf("write %s: rename temporary file: %w", path, err)
	}
	committed = true
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("write %s: fsync directory %s: %w", path, dir, err)
	}
	return nil
}

// ErrEmptyPassword is returned (wrapped) by ReadPasswordFile when the file
// holds nothing but whitespace.
var ErrEmptyPassword = errors.New("password file is empty")

// ReadPasswordFile reads a password file and trims trailing whitespace (\r\n\t space), as step does.
// Like step (bytes.TrimRightFunc with unicode.IsSpace) other Unicode trailing spaces are trimmed too;
// leading whitespace is kept.
// Errors name the file. An empty password (after trimming) is an error wrapping ErrEmptyPassword.
// Error messages never contain the password.
func ReadPasswordFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read password file %s: %w", path, err)
	}
	pw := bytes.TrimRightFunc(b, unicode.IsSpace)
	if len(pw) == 0 {
		return nil, fmt.Errorf("read password file %s: %w", path, ErrEmptyPassword)
	}
	return pw, nil
}
