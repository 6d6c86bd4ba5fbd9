package badger

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/db/dbtest"
)

func openWAL(t testing.TB, dir string, segSize int64) *Store {
	t.Helper()
	s, err := Open(context.Background(), Options{Dir: dir, MemTableSize: testMemTableSize, WALSegmentSize: segSize})
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	return s
}

// copyDir copies the regular files of src into dst (created).
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	if err := os.MkdirAll(dst, 0o700); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		in, err := os.Open(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out, err := os.Create(filepath.Join(dst, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(out, in); err != nil {
			t.Fatal(err)
		}
		in.Close()
		if err := out.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// Every acknowledged write is in the write-ahead log: a database whose
// Badger files lost everything (as unsynced files can in a power cut) gets
// it all back from the log, in order, deletions included.
func TestWALReplaysIntoEmptyBadger(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	s := openWAL(t, dir, 0)
	f := dbtest.NewCertificates(t)
	var certs []*store.Certificate
	for i := range 20 {
		notAfter := time.Now().Add(24 * time.Hour)
		if i < 5 {
			notAfter = time.Now().Add(-48 * time.Hour)
		}
		c := f.NewCertificate(t, dbtest.Serial(i), "wal.test", nil, "admin", notAfter)
		if err := s.StoreCertificate(ctx, c); err != nil {
			t.Fatal(err)
		}
		certs = append(certs, c)
		if err := s.UseToken(ctx, "jti-"+strconv.Itoa(i), []byte("token")); err != nil {
			t.Fatal(err)
		}
	}
	rev := dbtest.NewRevocation(certs[7].Serial, false)
	if err := s.Revoke(ctx, rev); err != nil {
		t.Fatal(err)
	}
	if n, err := s.DeleteExpired(ctx, time.Now().Add(-24*time.Hour), 100); err != nil || n != 5 {
		t.Fatalf("DeleteExpired = %d, %v; want 5", n, err)
	}
	// What a power cut could leave: the synced log, and Badger's files
	// without the writes (here: none at all).
	saved := filepath.Join(t.TempDir(), "wal")
	copyDir(t, filepath.Join(dir, walDir), saved)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	lost := t.TempDir()
	copyDir(t, saved, filepath.Join(lost, walDir))

	s = openWAL(t, lost, 0)
	defer s.Close()
	for i, c := range certs {
		_, err := s.GetCertificate(ctx, c.Serial)
		if i < 5 {
			if !errors.Is(err, store.ErrNotFound) {
				t.Errorf("expired certificate %s: %v, want deleted", c.Serial, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("certificate %s: %v", c.Serial, err)
		}
		if err := s.UseToken(ctx, "jti-"+strconv.Itoa(i), []byte("token")); !errors.Is(err, store.ErrTokenUsed) {
			t.Errorf("token %d reuse: %v, want ErrTokenUsed", i, err)
		}
	}
	if _, err := s.GetRevocation(ctx, rev.Serial); err != nil {
		t.Errorf("replayed revocation: %v", err)
	}
	if err := s.Revoke(ctx, rev); !errors.Is(err, store.ErrAlreadyRevoked) {
		t.Errorf("second revocation: %v, want ErrAlreadyRevoked", err)
	}
}

// A torn last record (the crash came mid-write, so no caller was answered)
// is ignored; the records before it are applied.
func TestWALTornTail(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	s := openWAL(t, dir, 0)
	f := dbtest.NewCertificates(t)
	a, b := f.New(t, dbtest.Serial(1)), f.New(t, dbtest.Serial(2))
	if err := s.StoreCertificate(ctx, a); err != nil {
		t.Fatal(err)
	}
	seg := s.wal.Seq()
	if err := s.StoreCertificate(ctx, b); err != nil {
		t.Fatal(err)
	}
	saved := filepath.Join(t.TempDir(), "wal")
	copyDir(t, filepath.Join(dir, walDir), saved)
	s.Close()
	// Cut the second record short.
	name := filepath.Join(saved, strings.Repeat("0", 15)+strconv.FormatUint(seg, 16)+".log")
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	end := len(data)
	for end > 0 && data[end-1] == 0 {
		end--
	}
	if err := os.WriteFile(name, data[:end-10], 0o600); err != nil {
		t.Fatal(err)
	}
	lost := t.TempDir()
	copyDir(t, saved, filepath.Join(lost, walDir))
	s = openWAL(t, lost, 0)
	defer s.Close()
	if _, err := s.GetCertificate(ctx, a.Serial); err != nil {
		t.Errorf("first certificate: %v", err)
	}
	if _, err := s.GetCertificate(ctx, b.Serial); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("torn certificate: %v, want not found", err)
	}
}

// With small segments the log rotates and retires what Badger holds
// durably, so it stays a few segments long; a clean Close removes it.
func TestWALCheckpoints(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	const segSize = 1 << 16
	s := openWAL(t, dir, segSize)
	f := dbtest.NewCertificates(t)
	first := s.wal.Seq()
	for i := range 600 { // ~300 KiB of records: several segments
		if err := s.StoreCertificate(ctx, f.New(t, dbtest.Serial(i))); err != nil {
			t.Fatal(err)
		}
	}
	if s.wal.Seq()-first < 3 {
		t.Fatalf("the log went from segment %d to %d, want rotations", first, s.wal.Seq())
	}
	entries, err := os.ReadDir(filepath.Join(dir, walDir))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) > 4 {
		t.Fatalf("the log holds %d files after checkpoints, want at most 4 (current, sealed, reusable)", len(entries))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, walDir)); len(entries) != 0 {
		t.Fatalf("a clean Close left %d log files", len(entries))
	}
	s = openWAL(t, dir, segSize)
	defer s.Close()
	for i := range 600 {
		if _, err := s.GetCertificate(ctx, dbtest.Serial(i)); err != nil {
			t.Fatalf("after reopen: %v", err)
		}
	}
}

// The checkpoint relies on Badger v4's memtable files (%05d.mem, one per
// memtable, removed once flushed): an open database has exactly one, the
// active memtable. A Badger that changes this fails here.
func TestBadgerMemtableFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := openWAL(t, dir, 0)
	defer s.Close()
	matches, err := filepath.Glob(filepath.Join(dir, "*"+memSuffix))
	if err != nil {
		t.Fatal(err)
	}
	if len(matches) != 1 || len(filepath.Base(matches[0])) != len("00001.mem") {
		t.Fatalf("memtable files %v, want one %%05d.mem", matches)
	}
	imm, err := immutableMemtables(dir)
	if err != nil || imm == nil || len(imm) != 0 {
		t.Fatalf("immutableMemtables = %v, %v; want an empty, non-nil list", imm, err)
	}
	other := t.TempDir()
	for _, name := range []string{"00007.mem", "00003.mem", "00012.mem", "MANIFEST"} {
		if err := os.WriteFile(filepath.Join(other, name), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	imm, err = immutableMemtables(other)
	want := []string{filepath.Join(other, "00003.mem"), filepath.Join(other, "00007.mem")}
	if err != nil || len(imm) != 2 || imm[0] != want[0] || imm[1] != want[1] {
		t.Fatalf("immutableMemtables = %v, %v; want %v", imm, err, want)
	}
	if imm, err := immutableMemtables(t.TempDir()); err != nil || imm != nil {
		t.Fatalf("immutableMemtables of a directory without memtables = %v, %v; want nil", imm, err)
	}
}
