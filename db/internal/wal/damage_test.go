package wal

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// span is one record as the writer placed it: its segment file and bytes.
type span struct {
	seg        string // file base name
	start, end int64
	rec        string
}

// damageFixture writes two segments of three records each, closes the log
// and returns the segment files' contents (trimmed after the records: the
// rest is zeroes) and where each record went.
func damageFixture(t *testing.T) (segs []string, files map[string][]byte, spans []span) {
	t.Helper()
	dir := t.TempDir()
	l, _ := collect(t, dir)
	recs := [][]string{{"alpha", "bravo-bravo", "charlie"}, {"delta", "echo-echo-echo", "foxtrot"}}
	ends := map[string]int64{}
	for i, group := range recs {
		if i > 0 {
			if _, err := l.Rotate(); err != nil {
				t.Fatal(err)
			}
		}
		seg := filepath.Base(l.f.Name())
		segs = append(segs, seg)
		for _, r := range group {
			start := l.off
			appendAll(t, l, r)
			spans = append(spans, span{seg: seg, start: start, end: l.off, rec: r})
			ends[seg] = l.off
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	files = map[string][]byte{}
	for _, seg := range segs {
		data, err := os.ReadFile(filepath.Join(dir, seg))
		if err != nil {
			t.Fatal(err)
		}
		files[seg] = data[:ends[seg]+16] // a little of the zeroes that follow
	}
	return segs, files, spans
}

// openDamaged writes files into a new directory, with seg replaced by data,
// and opens it, returning what was replayed and Open's error.
func openDamaged(t *testing.T, files map[string][]byte, seg string, data []byte) ([]string, error) {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if name == seg {
			content = data
		}
		if err := os.WriteFile(filepath.Join(dir, name), content, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	l, err := Open(dir, testSeg, func(rec []byte) error {
		got = append(got, string(rec))
		return nil
	})
	if err == nil {
		l.Close()
	}
	return got, err
}

// recordsOf returns the records of spans, in order.
func recordsOf(spans []span) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.rec)
	}
	return out
}

// damagedAt returns the index of the record that byte off of seg belongs to
// and the offset a damage report must name: the record's start, or 0 for the
// segment's own header (which belongs to the segment's first record).
func damagedAt(spans []span, seg string, off int64) (int, int64) {
	for i, s := range spans {
		if s.seg != seg {
			continue
		}
		if off < s.start {
			return i, 0
		}
		if off < s.end {
			return i, s.start
		}
	}
	return -1, -1
}

// checkDamage asserts the rule of replay: damage to record d is either
// reported with an error naming its segment and offset, or, when d is the
// last record of the last segment (a torn tail), cut, with every record
// before it replayed. Never are records after a skipped one applied.
func checkDamage(t *testing.T, what string, spans []span, d int, wantOff int64, got []string, err error, cutAllowed bool) {
	t.Helper()
	seg := spans[d].seg
	if err != nil {
		msg := err.Error()
		if !strings.Contains(msg, seg) || !strings.Contains(msg, fmt.Sprintf("offset %d", wantOff)) {
			t.Fatalf("%s: error %q does not name segment %s and offset %d", what, msg, seg, wantOff)
		}
		if !errors.Is(err, ErrDamaged) {
			t.Fatalf("%s: error %q is not ErrDamaged", what, msg)
		}
		if strings.Contains(msg, "\n") {
			t.Fatalf("%s: error is not one line: %q", what, msg)
		}
		if len(got) > d {
			t.Fatalf("%s: replayed %q before failing, beyond the %d records before the damage", what, got, d)
		}
		return
	}
	if !cutAllowed || d != len(spans)-1 {
		t.Fatalf("%s: damage to record %d (%s offset %d) was not reported; replayed %q", what, d, seg, wantOff, got)
	}
	if want := recordsOf(spans[:d]); !slices.Equal(got, want) {
		t.Fatalf("%s: torn tail cut, replayed %q, want %q", what, got, want)
	}
}

// Truncating the last segment anywhere replays the records wholly before
// the cut; truncating an earlier segment inside its records is an error
// naming the segment and the offset of the record cut.
func TestTruncateAtEveryOffset(t *testing.T) {
	t.Parallel()
	segs, files, spans := damageFixture(t)
	for si, seg := range segs {
		last := si == len(segs)-1
		end := spans[len(spans)-1].end
		if !last {
			end = spans[2].end
		}
		for cut := int64(0); cut <= end; cut++ {
			what := fmt.Sprintf("%s truncated to %d bytes", seg, cut)
			got, err := openDamaged(t, files, seg, files[seg][:cut])
			if last {
				var want []string
				for _, s := range spans {
					if s.seg != seg || s.end <= cut {
						want = append(want, s.rec)
					}
				}
				if err != nil || !slices.Equal(got, want) {
					t.Fatalf("%s: replayed %q, %v; want %q and no error", what, got, err, want)
				}
				continue
			}
			if cut == end {
				if err != nil || !slices.Equal(got, recordsOf(spans)) {
					t.Fatalf("%s (after its records): replayed %q, %v; want every record", what, got, err)
				}
				continue
			}
			d, off := damagedAt(spans, seg, cut)
			checkDamage(t, what, spans, d, off, got, err, false)
		}
	}
}

// Changing any byte of any record is reported with the segment and offset,
// except in the last record of the last segment, which is cut as a torn
// tail (a crash in its write is indistinguishable).
func TestCorruptEveryByte(t *testing.T) {
	t.Parallel()
	segs, files, spans := damageFixture(t)
	for si, seg := range segs {
		end := spans[3*si+2].end
		for off := int64(0); off < end; off++ {
			for _, mask := range []byte{0x01, 0xff} {
				data := slices.Clone(files[seg])
				data[off] ^= mask
				what := fmt.Sprintf("%s byte %d ^ %#x", seg, off, mask)
				got, err := openDamaged(t, files, seg, data)
				d, wantOff := damagedAt(spans, seg, off)
				checkDamage(t, what, spans, d, wantOff, got, err, true)
			}
		}
	}
}

// A crash while a segment is created can leave it without a whole start
// record and no records: Open removes it and carries on; in a segment that
// is not the last, the same is damage.
func TestTornStartRecord(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	l, _ := collect(t, dir)
	appendAll(t, l, "a", "b")
	if _, err := l.Rotate(); err != nil {
		t.Fatal(err)
	}
	torn := l.f.Name()
	l.Close()
	if err := os.Truncate(torn, firstRecord-1); err != nil {
		t.Fatal(err)
	}
	l, got := collect(t, dir)
	if want := []string{"a", "b"}; !slices.Equal(got, want) {
		t.Fatalf("replayed %q, want %q", got, want)
	}
	if l.f.Name() != torn {
		t.Fatalf("new segment %s, want %s in place of the torn one", l.f.Name(), torn)
	}
	appendAll(t, l, "c")
	l.Close()
	if l, got = collect(t, dir); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Fatalf("replayed %q, want a, b, c", got)
	}
	l.Close()

	// The first segment's start record damaged, with a segment after it.
	first := filepath.Join(dir, fmt.Sprintf("%016x%s", 1, suffix))
	f, err := os.OpenFile(first, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte{0xff}, 20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, err = Open(dir, testSeg, func([]byte) error { return nil })
	if !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), first) || !strings.Contains(err.Error(), "offset 0") {
		t.Fatalf("Open = %v, want damage at offset 0 of %s", err, first)
	}
}

// A missing segment between two others is damage, named by the one after.
func TestMissingSegment(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	l, _ := collect(t, dir)
	for _, r := range []string{"a", "b", "c"} {
		appendAll(t, l, r)
		if _, err := l.Rotate(); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	if err := os.Remove(filepath.Join(dir, fmt.Sprintf("%016x%s", 2, suffix))); err != nil {
		t.Fatal(err)
	}
	var got []string
	_, err := Open(dir, testSeg, func(rec []byte) error { got = append(got, string(rec)); return nil })
	if !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), fmt.Sprintf("%016x%s", 3, suffix)) {
		t.Fatalf("Open = %v, want damage naming segment 3", err)
	}
	if !slices.Equal(got, []string{"a"}) {
		t.Fatalf("replayed %q before the gap, want a", got)
	}
}

// After a failed append the segment is abandoned: the next one's start
// record ends it before the failed record, which is not replayed even when
// its bytes reached the disk (its caller was told it failed).
func TestAbandonedSegment(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	l, _ := collect(t, dir)
	appendAll(t, l, "a")
	seg, off, seq := l.f.Name(), l.off, l.seq.Load()
	l.f.Close() // the next write fails
	if err := l.Append([]byte("b")); err == nil {
		t.Fatal("Append on a closed file succeeded")
	}
	appendAll(t, l, "c")
	l.Close()
	f, err := os.OpenFile(seg, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(appendRecord(nil, seq, []byte("b")), off); err != nil {
		t.Fatal(err)
	}
	f.Close()
	l, got := collect(t, dir)
	defer l.Close()
	if want := []string{"a", "c"}; !slices.Equal(got, want) {
		t.Fatalf("replayed %q, want %q", got, want)
	}
}

// Segments of format 1 (written before start records and markers) replay
// as they did, before the format 2 segments that follow them.
func TestLegacySegments(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var b []byte
	for _, r := range []string{"old-1", "old-2"} {
		var s [8]byte
		binary.LittleEndian.PutUint64(s[:], 7)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(r)))
		b = binary.LittleEndian.AppendUint32(b, crc32.Update(crc32.Checksum(s[:], castagnoli), castagnoli, []byte(r)))
		b = append(b, r...)
	}
	b = append(b, make([]byte, 100)...)
	if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%016x%s", 7, legacySuffix)), b, 0o600); err != nil {
		t.Fatal(err)
	}
	l, got := collect(t, dir)
	if want := []string{"old-1", "old-2"}; !slices.Equal(got, want) {
		t.Fatalf("replayed %q, want %q", got, want)
	}
	if l.Seq() != 8 {
		t.Fatalf("new segment %d, want 8", l.Seq())
	}
	appendAll(t, l, "new")
	l.Close()
	l, got = collect(t, dir)
	if want := []string{"old-1", "old-2", "new"}; !slices.Equal(got, want) {
		t.Fatalf("replayed %q, want %q", got, want)
	}
	if err := l.RemoveAll(); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("RemoveAll left %d files", len(entries))
	}
}

// Repair reports the damage and what lies after it; applied, it keeps the
// records before the damage, keeps the damaged log aside unchanged, and
// Open works again.
func TestRepair(t *testing.T) {
	t.Parallel()
	segs, files, spans := damageFixture(t)
	dir := filepath.Join(t.TempDir(), "wal")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	data := slices.Clone(files[segs[0]])
	data[spans[1].start+headerLen] ^= 0xff // bravo-bravo, in the first segment
	files[segs[0]] = data
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), content, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Date(2026, 12, 7, 1, 2, 3, 0, time.UTC)
	rep, err := Repair(dir, testSeg, false, now)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Damage == nil || filepath.Base(rep.Damage.Segment) != segs[0] || rep.Damage.Offset != spans[1].start {
		t.Fatalf("dry run damage %+v, want %s offset %d", rep.Damage, segs[0], spans[1].start)
	}
	var dropped []string
	for _, d := range rep.Dropped {
		dropped = append(dropped, string(d.Rec))
	}
	if rep.Kept != 1 || rep.MovedTo != "" || !slices.Equal(dropped, []string{"charlie", "delta", "echo-echo-echo", "foxtrot"}) {
		t.Fatalf("dry run kept %d, dropped %q, moved to %q; want 1, charlie..foxtrot, nothing moved", rep.Kept, dropped, rep.MovedTo)
	}
	if _, err := Open(dir, testSeg, func([]byte) error { return nil }); !errors.Is(err, ErrDamaged) {
		t.Fatalf("Open after a dry run = %v, want still damaged", err)
	}

	rep, err = Repair(dir, testSeg, true, now)
	if err != nil {
		t.Fatal(err)
	}
	if want := dir + ".damaged-20261207T010203Z"; rep.MovedTo != want || rep.Kept != 1 || len(rep.Dropped) != 4 {
		t.Fatalf("repair: %+v, want moved to %s, 1 kept, 4 dropped", rep, want)
	}
	for name, content := range files {
		got, err := os.ReadFile(filepath.Join(rep.MovedTo, name))
		if err != nil || !bytes.Equal(got, content) {
			t.Fatalf("damaged copy of %s: %v, changed: %v", name, err, !bytes.Equal(got, content))
		}
	}
	l, got := collect(t, dir)
	l.Close()
	if want := []string{"alpha"}; !slices.Equal(got, want) {
		t.Fatalf("after repair replayed %q, want %q", got, want)
	}
	if rep, err := Repair(dir, testSeg, true, now.Add(time.Second)); err != nil || rep.Damage != nil || rep.MovedTo != "" {
		t.Fatalf("repair of an intact log = %+v, %v; want nothing done", rep, err)
	}
	if rep, err := Repair(filepath.Join(t.TempDir(), "none"), testSeg, true, now); err != nil || rep.Damage != nil {
		t.Fatalf("repair of a missing log = %+v, %v; want nothing done", rep, err)
	}
}
