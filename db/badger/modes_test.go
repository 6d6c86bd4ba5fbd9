package badger

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/mayfly-pki/mayfly/db/dbtest"
)

// checkModes fails t unless every file under dirs is readable and writable
// by its owner only, and returns the names seen.
func checkModes(t *testing.T, when string, dirs ...string) map[string]bool {
	t.Helper()
	seen := map[string]bool{}
	for _, dir := range dirs {
		err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
			if err != nil || !e.Type().IsRegular() {
				return err
			}
			fi, err := e.Info()
			if err != nil {
				return err
			}
			if fi.Mode().Perm()&0o077 != 0 {
				t.Errorf("%s: %s has mode %v, want 0600", when, p, fi.Mode().Perm())
			}
			seen[filepath.Base(p)] = true
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return seen
}

// Every database file, Badger's (tables, value log, MANIFEST, KEYREGISTRY,
// DISCARD, LOCK, memtable logs) and the write-ahead log's, is 0600 while
// the store is open and after Close, whatever the process umask (022 in
// tests), and files made wider before are narrowed at Open.
func TestFileModes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir, valueDir := t.TempDir(), t.TempDir()
	open := func() *Store {
		s, err := Open(ctx, Options{Dir: dir, ValueDir: valueDir, MemTableSize: testMemTableSize})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	s := open()
	f := dbtest.NewCertificates(t)
	for i := range 20 {
		if err := s.StoreCertificate(ctx, f.New(t, dbtest.Serial(i))); err != nil {
			t.Fatal(err)
		}
		if err := s.UseToken(ctx, "jti-"+strconv.Itoa(i), []byte("token")); err != nil {
			t.Fatal(err)
		}
	}
	seen := checkModes(t, "open", dir, valueDir)
	for _, name := range []string{"MANIFEST", "KEYREGISTRY", "LOCK"} {
		if !seen[name] {
			t.Errorf("no %s among the files checked while open: %v", name, seen)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	checkModes(t, "closed", dir, valueDir)
	if tables, _ := filepath.Glob(filepath.Join(dir, "*.sst")); len(tables) == 0 {
		t.Errorf("no table written at Close: the test checks no table's mode")
	}

	// A database whose files were left wider (by an earlier version).
	for _, d := range []string{dir, valueDir} {
		err := filepath.WalkDir(d, func(p string, e fs.DirEntry, err error) error {
			if err == nil && e.Type().IsRegular() {
				err = os.Chmod(p, 0o644)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	s = open()
	checkModes(t, "reopened", dir, valueDir)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	checkModes(t, "closed again", dir, valueDir)
}
