package badger

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"

	"github.com/mayfly-pki/mayfly/authority/store"
)

// manifestHeader returns the first bytes of a MANIFEST: the Badger v1/v2
// layout (uint32 version) when ext is negative, else the v3/v4 layout.
func manifestHeader(magic string, ext int, version uint32) []byte {
	b := []byte(magic)
	if ext < 0 {
		return binary.BigEndian.AppendUint32(b, version)
	}
	b = binary.BigEndian.AppendUint16(b, uint16(ext))
	return binary.BigEndian.AppendUint16(b, uint16(version))
}

func TestOpenRefusesOtherFormats(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		manifest []byte
		want     string
	}{
		// A real Badger v2 (step-ca) MANIFEST starts "Bdgr" 00 00 00 07
		// followed by length-prefixed change sets; the header is what counts.
		{"badger v2", append(manifestHeader("Bdgr", -1, 7), 0, 0, 0, 0, 0, 0, 0, 0), "holds a Badger v2 database written by Smallstep step-ca"},
		{"badger v1.6", manifestHeader("Bdgr", -1, 4), "holds a Badger v1 database"},
		{"newer badger", manifestHeader("Bdgr", 0, 9), "newer Badger"},
		{"other application", manifestHeader("Bdgr", 3, 8), "another application"},
		{"not badger", []byte("SQLite format 3\x00"), "not Badger's"},
		{"truncated", []byte("Bdg"), "empty or truncated MANIFEST"},
		{"empty", nil, "empty or truncated MANIFEST"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "MANIFEST"), tc.manifest, 0o600); err != nil {
				t.Fatal(err)
			}
			if tc.name == "badger v2" {
				// step-ca's v2 directory also holds a value log and key registry.
				for _, f := range []string{"000000.vlog", "KEYREGISTRY"} {
					if err := os.WriteFile(filepath.Join(dir, f), make([]byte, 20), 0o600); err != nil {
						t.Fatal(err)
					}
				}
			}
			before := listDir(t, dir)
			s, err := Open(context.Background(), Options{Dir: dir, MemTableSize: testMemTableSize})
			if err == nil {
				s.Close()
				t.Fatalf("Open succeeded, want an error containing %q", tc.want)
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.want) || !strings.Contains(msg, dir) || strings.Contains(msg, "\n") {
				t.Fatalf("Open error = %q, want one line naming %s and containing %q", msg, dir, tc.want)
			}
			if after := listDir(t, dir); !slices.Equal(before, after) {
				t.Fatalf("Open of a refused directory changed it: %v -> %v", before, after)
			}
		})
	}
}

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

func TestOpenDirectories(t *testing.T) {
	t.Parallel()
	t.Run("missing directory is created 0700", func(t *testing.T) {
		t.Parallel()
		dir := filepath.Join(t.TempDir(), "a", "db")
		s := openTest(t, dir)
		defer s.Close()
		fi, err := os.Stat(dir)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o700 {
			t.Fatalf("created directory mode %v, want 0700", fi.Mode().Perm())
		}
	})
	t.Run("existing empty directory", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		s := openTest(t, dir)
		if err := s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		// And the directory it wrote opens again.
		s = openTest(t, dir)
		if err := s.Close(); err != nil {
			t.Fatalf("Close after reopen: %v", err)
		}
	})
	t.Run("separate value directory", func(t *testing.T) {
		t.Parallel()
		dir, vdir := t.TempDir(), filepath.Join(t.TempDir(), "values")
		s, err := Open(context.Background(), Options{Dir: dir, ValueDir: vdir, MemTableSize: testMemTableSize})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		defer s.Close()
		vlogs, err := filepath.Glob(filepath.Join(vdir, "*.vlog"))
		if err != nil || len(vlogs) == 0 {
			t.Fatalf("no value log in %s (%v)", vdir, err)
		}
	})
	t.Run("directory in use", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		s := openTest(t, dir)
		defer s.Close()
		_, err := Open(context.Background(), Options{Dir: dir, MemTableSize: testMemTableSize})
		if err == nil || !strings.Contains(err.Error(), dir) || strings.Contains(err.Error(), "\n") {
			t.Fatalf("second Open of %s: err = %v, want a one-line error naming the directory", dir, err)
		}
	})
}

func TestOpenOptions(t *testing.T) {
	t.Parallel()
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name    string
		ctx     context.Context
		opts    Options
		wantErr string // "" means Open must succeed
	}{
		{"FileIO accepted", context.Background(), Options{FileLoadingMode: "FileIO"}, ""},
		{"memorymap accepted", context.Background(), Options{FileLoadingMode: "memorymap"}, ""},
		{"bad loading mode", context.Background(), Options{FileLoadingMode: "mmap"}, `invalid badgerFileLoadingMode "mmap"`},
		{"memtable too small", context.Background(), Options{MemTableSize: 1 << 20}, "memtable size"},
		{"cancelled context", cancelled, Options{}, "context canceled"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			opts := tc.opts
			opts.Dir = t.TempDir()
			if opts.MemTableSize == 0 {
				opts.MemTableSize = testMemTableSize
			}
			s, err := Open(tc.ctx, opts)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				if err := s.Close(); err != nil {
					t.Fatalf("Close: %v", err)
				}
				return
			}
			if err == nil {
				s.Close()
				t.Fatalf("Open succeeded, want error containing %q", tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), opts.Dir) {
				t.Fatalf("Open error = %q, want it to contain %q and the directory", err, tc.wantErr)
			}
		})
	}
	if _, err := Open(context.Background(), Options{}); err == nil {
		t.Fatalf("Open without a directory succeeded")
	}
}

func TestCloseStopsCommitter(t *testing.T) {
	t.Parallel()
	s := openTest(t, t.TempDir())
	if err := s.UseToken(context.Background(), "k", []byte("v")); err != nil {
		t.Fatalf("UseToken: %v", err)
	}
	if !committerRunning(s) {
		t.Fatalf("committer goroutine not found in the goroutine dump before Close")
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case <-s.done:
	default:
		t.Fatalf("Close returned before the committer exited")
	}
	// The committer exits right after closing done; let it finish.
	for i := 0; i < 1000 && committerRunning(s); i++ {
		runtime.Gosched()
	}
	if committerRunning(s) {
		t.Fatalf("committer goroutine still running after Close")
	}
}

// committerRunning reports whether the committer goroutine of s is alive.
// Other tests' stores run in parallel, so it looks for s's address as the
// receiver of run in the goroutine dump.
func committerRunning(s *Store) bool {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	return bytes.Contains(buf, fmt.Appendf(nil, "db/badger.(*Store).run(%p", s))
}

func TestBadgerLoggerOneLineWarnings(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	l := logrus.New()
	l.SetOutput(&buf)
	l.SetFormatter(&logrus.TextFormatter{DisableTimestamp: true})
	l.SetLevel(logrus.DebugLevel)
	bl := newBadgerLogger(l, "/x/db")
	bl.Infof("replaying %d files\n", 3)
	bl.Debugf("debug\n")
	bl.Warningf("two\nlines %s\n", "here")
	bl.Errorf("failed\n")
	out := buf.String()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("logged %d lines, want 2 (warning, error): %q", len(lines), out)
	}
	if !strings.Contains(lines[0], "level=warning") || !strings.Contains(lines[0], "two lines here") || !strings.Contains(lines[0], "path=/x/db") {
		t.Fatalf("warning line = %q", lines[0])
	}
	if !strings.Contains(lines[1], "level=error") || !strings.Contains(lines[1], "failed") {
		t.Fatalf("error line = %q", lines[1])
	}
	if err := (oneLine{errors.New("a\nb")}); err.Error() != "a b" {
		t.Fatalf("oneLine = %q", err.Error())
	}
}

// TestReadsCompressedTables: the store writes uncompressed tables, without a
// block cache; tables a database already has, written with Badger's default
// Snappy compression (as rawWrite does), are still read.
func TestReadsCompressedTables(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	rawWrite(t, dir, map[string][]byte{string(recordKey("used_ott", "old-jti")): bytes.Repeat([]byte("tok"), 100)})
	if tables, _ := filepath.Glob(filepath.Join(dir, "*.sst")); len(tables) == 0 {
		t.Fatal("badger left no table on close: the test reads nothing compressed")
	}
	s := openTest(t, dir)
	defer s.Close()
	if err := s.UseToken(context.Background(), "old-jti", []byte("tok")); !errors.Is(err, store.ErrTokenUsed) {
		t.Fatalf("UseToken of a key in a Snappy table: %v, want ErrTokenUsed", err)
	}
}
