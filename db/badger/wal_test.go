package badger

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	badgerdb "github.com/dgraph-io/badger/v4"

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

// With small segments the log rotates, and retires the segments whose
// writes Badger's tables hold, so it stays bounded by what Badger's
// memtables (16 MiB each here, at most three unflushed) may hold; a clean
// Close removes it.
func TestWALCheckpoints(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	const segSize = 1 << 20
	s := openWAL(t, dir, segSize)
	first := s.wal.Seq()
	token := bytes.Repeat([]byte("t"), 256<<10)
	const n = 320 // 80 MiB: five memtables
	for i := range n {
		if err := s.UseToken(ctx, "jti-"+strconv.Itoa(i), token); err != nil {
			t.Fatal(err)
		}
	}
	created := s.wal.Seq() - first + 1
	entries, err := os.ReadDir(filepath.Join(dir, walDir))
	if err != nil {
		t.Fatal(err)
	}
	if created < 70 {
		t.Fatalf("the log went from segment %d to %d, want about one per four tokens", first, s.wal.Seq())
	}
	// Three 16 MiB memtables' worth of 1 MiB segments, the current one,
	// and the files kept for reuse.
	if len(entries) > 3*16+1+2 {
		t.Fatalf("the log holds %d files after %d segments, want at most %d", len(entries), created, 3*16+3)
	}
	if _, err := os.Stat(filepath.Join(dir, walDir, fmt.Sprintf("%016x.log", first))); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the first segment is still there (%v)", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, walDir)); len(entries) != 0 {
		t.Fatalf("a clean Close left %d log files", len(entries))
	}
	s = openWAL(t, dir, segSize)
	defer s.Close()
	for i := range n {
		if err := s.UseToken(ctx, "jti-"+strconv.Itoa(i), token); !errors.Is(err, store.ErrTokenUsed) {
			t.Fatalf("after reopen, token %d: %v, want ErrTokenUsed", i, err)
		}
	}
}

// TestTablesHoldEveryEarlierWrite checks, against the Badger in go.mod, what
// the log's checkpoints rely on (see checkpoint): once Badger's tables
// (DB.Tables) hold a version, Badger's durable files other than its
// memtable logs hold every write up to that version. It copies only the
// MANIFEST and the tables, which is what a crash leaves when the memtable
// logs were never synced, and reads every key back from the copy.
func TestTablesHoldEveryEarlierWrite(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	opts, err := badgerOptions(Options{Dir: dir, MemTableSize: testMemTableSize})
	if err != nil {
		t.Fatal(err)
	}
	db, err := badgerdb.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	value := bytes.Repeat([]byte("v"), 64<<10)
	key := func(i int) []byte { return []byte(fmt.Sprintf("key-%06d", i)) }
	put := func(i int) {
		if err := db.Update(func(txn *badgerdb.Txn) error { return txn.Set(key(i), value) }); err != nil {
			t.Fatal(err)
		}
	}
	const n = 300 // about 19 MiB: more than one memtable
	for i := range n {
		put(i)
	}
	version := db.MaxVersion()
	// Write on until the tables hold version: the later writes fill the
	// memtable that holds it, and Badger flushes it.
	deadline := time.Now().Add(60 * time.Second)
	more := n
	for flushedVersion(db) < version {
		if time.Now().After(deadline) {
			t.Fatalf("the tables hold version %d after %d writes, want %d", flushedVersion(db), more, version)
		}
		put(more)
		more++
	}
	var copied string
	for {
		copied = copyTables(t, dir)
		cdb, err := badgerdb.Open(badgerdb.DefaultOptions(copied).WithLogger(nil).WithReadOnly(true))
		if err == nil {
			err = cdb.View(func(txn *badgerdb.Txn) error {
				for i := range n {
					if _, err := txn.Get(key(i)); err != nil {
						return fmt.Errorf("key %d: %w", i, err)
					}
				}
				return nil
			})
			cdb.Close()
			if err != nil {
				t.Fatalf("tables hold version %d >= %d, but the copy without memtables misses %v", flushedVersion(db), version, err)
			}
			return
		}
		// A compaction removed a table between the copies of the
		// MANIFEST and of the tables: copy again.
		if time.Now().After(deadline) {
			t.Fatalf("open the copy of the tables: %v", err)
		}
	}
}

// copyTables copies dir's MANIFEST and tables (*.sst), nothing else, into a
// new directory.
func copyTables(t *testing.T, dir string) string {
	t.Helper()
	dst := t.TempDir()
	names := []string{"MANIFEST"}
	tables, err := filepath.Glob(filepath.Join(dir, "*.sst"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tbl := range tables {
		names = append(names, filepath.Base(tbl))
	}
	for _, name := range names {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}
