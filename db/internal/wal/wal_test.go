package wal

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const testSeg = 1 << 16

func collect(t *testing.T, dir string) (*Log, []string) {
	t.Helper()
	var got []string
	l, err := Open(dir, testSeg, func(rec []byte) error {
		got = append(got, string(rec))
		return nil
	})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return l, got
}

func appendAll(t *testing.T, l *Log, recs ...string) {
	t.Helper()
	for _, r := range recs {
		if err := l.Append([]byte(r)); err != nil {
			t.Fatalf("Append(%q): %v", r, err)
		}
	}
}

func segments(t *testing.T, dir string) (segs, free []string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "free-") {
			free = append(free, e.Name())
		} else {
			segs = append(segs, e.Name())
		}
	}
	return segs, free
}

// Records come back in order across segments and reopens, and each Open
// starts a new segment.
func TestAppendReplay(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	l, got := collect(t, dir)
	if len(got) != 0 {
		t.Fatalf("new log replayed %q", got)
	}
	appendAll(t, l, "a", "bb")
	if _, err := l.Rotate(); err != nil {
		t.Fatal(err)
	}
	appendAll(t, l, "ccc")
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l, got = collect(t, dir)
	if want := []string{"a", "bb", "ccc"}; !slices.Equal(got, want) {
		t.Fatalf("replayed %q, want %q", got, want)
	}
	appendAll(t, l, "d")
	l.Close()
	l, got = collect(t, dir)
	defer l.Close()
	if want := []string{"a", "bb", "ccc", "d"}; !slices.Equal(got, want) {
		t.Fatalf("second replay %q, want %q", got, want)
	}
	if segs, _ := segments(t, dir); len(segs) != 4 {
		t.Fatalf("segments %v, want 4 (two before the first reopen, one per reopen since)", segs)
	}
}

// A torn last record (a crash in the middle of a write) is cut: what
// precedes it is replayed, Cut names it, and the next segment's start
// record ends the torn segment before it, so later opens (the torn bytes
// now in a segment that is not the last) replay the same records.
func TestTornRecord(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		tear func(t *testing.T, name string, off int64)
	}{
		{"truncated", func(t *testing.T, name string, off int64) {
			if err := os.Truncate(name, off+headerLen+3); err != nil {
				t.Fatal(err)
			}
		}},
		{"flipped byte", func(t *testing.T, name string, off int64) {
			f, err := os.OpenFile(name, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := f.WriteAt([]byte{'X'}, off+headerLen+5); err != nil {
				t.Fatal(err)
			}
		}},
		{"huge length", func(t *testing.T, name string, off int64) {
			f, err := os.OpenFile(name, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := f.WriteAt([]byte{0xff, 0xff, 0xff, 0x7f}, off+8); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			l, _ := collect(t, dir)
			appendAll(t, l, "first")
			off := l.off
			seg := l.f.Name()
			appendAll(t, l, "second record")
			l.Close()
			tc.tear(t, seg, off)
			l, got := collect(t, dir)
			if want := []string{"first"}; !slices.Equal(got, want) {
				t.Fatalf("replayed %q, want %q", got, want)
			}
			if c := l.Cut(); c == nil || c.Segment != seg || c.Offset != off {
				t.Fatalf("Cut() = %+v, want segment %s offset %d", c, seg, off)
			}
			appendAll(t, l, "third")
			l.Close()
			l, got = collect(t, dir)
			defer l.Close()
			if want := []string{"first", "third"}; !slices.Equal(got, want) {
				t.Fatalf("second open replayed %q, want %q", got, want)
			}
			if c := l.Cut(); c != nil {
				t.Fatalf("second open cut %+v, want nothing", c)
			}
		})
	}
}

// A reused segment still holds the records of its previous life; they carry
// another sequence number and are not replayed.
func TestReusedSegmentStaleRecords(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	l, _ := collect(t, dir)
	long := strings.Repeat("x", 1000)
	for i := range 5 {
		appendAll(t, l, fmt.Sprintf("old-%d-%s", i, long))
	}
	sealed, err := l.Rotate()
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Retire(sealed); err != nil {
		t.Fatal(err)
	}
	if _, free := segments(t, dir); len(free) != 1 {
		t.Fatalf("free files %v, want the retired segment", free)
	}
	// The next segment reuses the retired file; write less than it held.
	if _, err := l.Rotate(); err != nil {
		t.Fatal(err)
	}
	if _, free := segments(t, dir); len(free) != 0 {
		t.Fatalf("free files %v after rotation, want it reused", free)
	}
	appendAll(t, l, "new")
	l.Close()
	l, got := collect(t, dir)
	defer l.Close()
	if want := []string{"new"}; !slices.Equal(got, want) {
		t.Fatalf("replayed %q, want %q", got, want)
	}
}

// Retire keeps the current segment and later ones, and at most keepFree
// files for reuse; RemoveAll leaves nothing.
func TestRetireAndRemoveAll(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	l, _ := collect(t, dir)
	var sealed uint64
	for i := range 5 {
		appendAll(t, l, fmt.Sprint("r", i))
		var err error
		if sealed, err = l.Rotate(); err != nil {
			t.Fatal(err)
		}
	}
	appendAll(t, l, "kept")
	if err := l.Retire(sealed - 1); err != nil {
		t.Fatal(err)
	}
	segs, free := segments(t, dir)
	if len(free) != keepFree || len(segs) != 2 {
		t.Fatalf("after Retire: segments %v, free %v; want 2 segments and %d free", segs, free, keepFree)
	}
	if err := l.Retire(l.Seq() + 10); err != nil {
		t.Fatal(err)
	}
	if segs, _ = segments(t, dir); len(segs) != 1 {
		t.Fatalf("Retire past the current segment left %v, want the current one only", segs)
	}
	l.Close()
	l, got := collect(t, dir)
	if want := []string{"kept"}; !slices.Equal(got, want) {
		t.Fatalf("replayed %q, want %q", got, want)
	}
	if err := l.RemoveAll(); err != nil {
		t.Fatal(err)
	}
	if segs, free := segments(t, dir); len(segs)+len(free) != 0 {
		t.Fatalf("RemoveAll left %v %v", segs, free)
	}
}

// A replay error stops Open and removes nothing; records above a segment's
// preallocated size still replay.
func TestReplayErrorAndLargeRecord(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	l, _ := collect(t, dir)
	big := bytes.Repeat([]byte("b"), 3*testSeg)
	appendAll(t, l, "small", string(big))
	if !l.Full() {
		t.Fatal("Full() = false after writing past the segment size")
	}
	if err := l.Append(nil); err == nil {
		t.Fatal("Append(empty) succeeded")
	}
	l.Close()
	boom := errors.New("boom")
	if _, err := Open(dir, testSeg, func([]byte) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("Open with a failing replay = %v, want %v", err, boom)
	}
	l, got := collect(t, dir)
	defer l.Close()
	if len(got) != 2 || got[0] != "small" || got[1] != string(big) {
		t.Fatalf("replayed %d records, want small and the big one", len(got))
	}
}

func TestOpenRefusesStrangeFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "12.wal"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir, testSeg, func([]byte) error { return nil }); err == nil || !strings.Contains(err.Error(), "12.wal") {
		t.Fatalf("Open = %v, want an error naming 12.wal", err)
	}
	if _, err := Open(t.TempDir(), 100, func([]byte) error { return nil }); err == nil {
		t.Fatal("Open accepted a 100-byte segment size")
	}
}
