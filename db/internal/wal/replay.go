package wal

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// legacySuffix names the segments of format version 1.
const legacySuffix = ".wal"

// ErrDamaged is matched (errors.Is) by every *DamageError.
var ErrDamaged = errors.New("write-ahead log damaged")

// DamageError reports damage to the log that is not a torn last record: a
// record that fails to parse before the end the writer recorded, or one
// followed by well-formed records of its segment. Replaying past it would
// apply later writes without this one, so Open stops; Repair keeps the
// records before it.
type DamageError struct {
	Segment string // the segment file
	Offset  int64  // byte offset of the damaged record in it
	Reason  string
}

func (e *DamageError) Error() string {
	return fmt.Sprintf("write-ahead log segment %s: damaged record at byte offset %d: %s", e.Segment, e.Offset, e.Reason)
}

// Is makes errors.Is(err, ErrDamaged) true.
func (e *DamageError) Is(target error) bool { return target == ErrDamaged }

func damage(segment string, off int64, format string, args ...any) error {
	return &DamageError{Segment: segment, Offset: off, Reason: fmt.Sprintf(format, args...)}
}

// segFile is one segment file of the log directory.
type segFile struct {
	seq    uint64
	name   string // path
	legacy bool   // format version 1
}

// list returns dir's segments in sequence order and its retired files.
func list(dir string) (segs []segFile, free []string, err error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("write-ahead log %s: %w", dir, err)
	}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, "free-") {
			free = append(free, filepath.Join(dir, name))
			continue
		}
		hex, ok := strings.CutSuffix(name, suffix)
		legacy := false
		if !ok {
			if hex, ok = strings.CutSuffix(name, legacySuffix); !ok {
				continue
			}
			legacy = true
		}
		seq, err := strconv.ParseUint(hex, 16, 64)
		if err != nil || len(hex) != 16 {
			return nil, nil, fmt.Errorf("write-ahead log %s: unexpected file %s", dir, name)
		}
		segs = append(segs, segFile{seq: seq, name: filepath.Join(dir, name), legacy: legacy})
	}
	slices.SortFunc(segs, func(a, b segFile) int {
		switch {
		case a.seq < b.seq:
			return -1
		case a.seq > b.seq:
			return 1
		}
		return 0
	})
	for i := 1; i < len(segs); i++ {
		if segs[i].seq == segs[i-1].seq {
			return nil, nil, fmt.Errorf("write-ahead log %s: two segments numbered %016x (%s and %s)", dir, segs[i].seq,
				filepath.Base(segs[i-1].name), filepath.Base(segs[i].name))
		}
	}
	return segs, free, nil
}

// logEnd is where replay found the log to end.
type logEnd struct {
	seq uint64 // the last segment (0: none)
	off int64  // the end of its records
	cut *Cut   // a torn record left out at off
	// empty is a last segment whose start record is not whole and which
	// holds no record: a crash while it was created.
	empty string
}

// replayAll calls fn for each record of segs, in order, and returns where
// the log ends. It stops at the first damage with a *DamageError, after
// replaying every record before the damage.
func replayAll(segs []segFile, fn func(rec []byte) error) (logEnd, error) {
	var end logEnd
	for i, s := range segs {
		if i > 0 && s.seq != segs[i-1].seq+1 {
			return end, damage(s.name, 0, "segments %016x to %016x before it are missing", segs[i-1].seq+1, s.seq-1)
		}
		if s.legacy {
			if i > 0 && !segs[i-1].legacy {
				return end, damage(s.name, 0, "a format 1 segment after a format 2 one")
			}
			off, err := replayLegacy(s.name, s.seq, fn)
			if err != nil {
				return end, err
			}
			end = logEnd{seq: s.seq, off: off}
			continue
		}
		data, err := os.ReadFile(s.name)
		if err != nil {
			return end, fmt.Errorf("write-ahead log: %w", err)
		}
		last := i == len(segs)-1
		if start, _, problem := parse(data, 0, s.seq); problem != "" || len(start) != startLen {
			if problem == "" {
				problem = fmt.Sprintf("start record of %d bytes, want %d", len(start), startLen)
			}
			if last && findRecord(data, s.seq, 0) < 0 {
				end.empty = s.name
				return end, nil
			}
			return end, damage(s.name, 0, "start record: %s", problem)
		}
		// Where the writer ended this segment, from the next one's start
		// record; -1 when this is the end of the log.
		limit := int64(-1)
		if !last && segs[i+1].seq == s.seq+1 { // a gap is reported next
			if limit, err = endOf(s, segs[i+1]); err != nil {
				return end, err
			}
		}
		off, problem := int64(firstRecord), ""
		for limit < 0 || off < limit {
			rec, n, p := parse(data, off, s.seq)
			if p != "" {
				if limit >= 0 {
					return end, damage(s.name, off, "%s (the segment's records end at offset %d)", p, limit)
				}
				problem = p
				break
			}
			if limit >= 0 && off+n > limit {
				return end, damage(s.name, off, "record runs past the segment's end at offset %d, recorded by %s", limit, filepath.Base(segs[i+1].name))
			}
			if err := fn(rec); err != nil {
				return end, fmt.Errorf("write-ahead log %s: replay record at offset %d: %w", s.name, off, err)
			}
			off += n
		}
		end = logEnd{seq: s.seq, off: off}
		if limit >= 0 {
			continue
		}
		// The end of the log: only a torn record, which no record of
		// this segment follows, may end it.
		if p := findRecord(data, s.seq, off+1); p >= 0 {
			return end, damage(s.name, off, "%s, and a valid record follows at offset %d", problem, p)
		}
		if off+8 <= int64(len(data)) && binary.LittleEndian.Uint64(data[off:]) == marker(s.seq) {
			end.cut = &Cut{Segment: s.name, Offset: off}
		}
	}
	return end, nil
}

// endOf returns the end of s's records that next's start record gives, or
// -1 when next has no whole start record (then next must be the last
// segment, created when a crash came, and replay checks it as such).
func endOf(s, next segFile) (int64, error) {
	if next.legacy {
		return 0, damage(next.name, 0, "a format 1 segment after a format 2 one")
	}
	f, err := os.Open(next.name)
	if err != nil {
		return 0, fmt.Errorf("write-ahead log: %w", err)
	}
	defer f.Close()
	var b [firstRecord]byte
	n, err := f.ReadAt(b[:], 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return 0, fmt.Errorf("write-ahead log %s: %w", next.name, err)
	}
	start, _, problem := parse(b[:n], 0, next.seq)
	if problem != "" || len(start) != startLen {
		return -1, nil
	}
	prev, limit := binary.LittleEndian.Uint64(start), binary.LittleEndian.Uint64(start[8:])
	if prev != s.seq {
		return 0, damage(next.name, 0, "start record follows segment %016x, not %016x", prev, s.seq)
	}
	if limit < firstRecord || limit > MaxRecord*1024 {
		return 0, damage(next.name, 0, "start record ends segment %016x at offset %d", prev, limit)
	}
	return int64(limit), nil
}

// parse reads the record of segment seq at off, returning its payload and
// length, or a description of why no record is there.
func parse(data []byte, off int64, seq uint64) (rec []byte, n int64, problem string) {
	size := int64(len(data))
	if off+headerLen > size {
		if off >= size {
			return nil, 0, "the file ends"
		}
		return nil, 0, fmt.Sprintf("the file ends inside a record header (%d bytes)", size)
	}
	h := data[off : off+headerLen]
	if binary.LittleEndian.Uint64(h) != marker(seq) {
		if bytes.Count(h, []byte{0}) == headerLen {
			return nil, 0, "zeroes instead of a record"
		}
		return nil, 0, "no record marker"
	}
	l := int64(binary.LittleEndian.Uint32(h[8:]))
	if l == 0 || l > MaxRecord {
		return nil, 0, fmt.Sprintf("record length %d out of range", l)
	}
	if off+headerLen+l > size {
		return nil, 0, fmt.Sprintf("record of %d bytes runs past the end of the file (%d bytes)", l, size)
	}
	rec = data[off+headerLen : off+headerLen+l]
	if checksum(seq, rec) != binary.LittleEndian.Uint32(h[12:]) {
		return nil, 0, "checksum mismatch"
	}
	return rec, headerLen + l, ""
}

// findRecord returns the offset of the first well-formed record of segment
// seq at or after from, or -1.
func findRecord(data []byte, seq uint64, from int64) int64 {
	var m [8]byte
	binary.LittleEndian.PutUint64(m[:], marker(seq))
	for from < int64(len(data)) {
		i := bytes.Index(data[from:], m[:])
		if i < 0 {
			return -1
		}
		p := from + int64(i)
		if _, _, problem := parse(data, p, seq); problem == "" {
			return p
		}
		from = p + 1
	}
	return -1
}

// replayLegacy replays a format 1 segment the way the versions that wrote
// it did: each record an 8-byte header (u32le length, u32le CRC-32C of
// u64le sequence || payload) and the payload, up to the first header that
// does not describe a whole record with a matching checksum. It returns
// that offset.
func replayLegacy(name string, seq uint64, fn func(rec []byte) error) (int64, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return 0, fmt.Errorf("write-ahead log: %w", err)
	}
	size := int64(len(data))
	off := int64(0)
	for off+8 <= size {
		n := int64(binary.LittleEndian.Uint32(data[off:]))
		if n == 0 || n > MaxRecord || off+8+n > size {
			break
		}
		rec := data[off+8 : off+8+n]
		var s [8]byte
		binary.LittleEndian.PutUint64(s[:], seq)
		if crc32.Update(crc32.Checksum(s[:], castagnoli), castagnoli, rec) != binary.LittleEndian.Uint32(data[off+4:]) {
			break
		}
		if err := fn(rec); err != nil {
			return 0, fmt.Errorf("write-ahead log %s: replay record at offset %d: %w", name, off, err)
		}
		off += 8 + n
	}
	return off, nil
}
