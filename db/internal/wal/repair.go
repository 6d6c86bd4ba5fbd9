package wal

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// Dropped is a well-formed record at or after the damage, which Repair
// leaves out of the repaired log.
type Dropped struct {
	Segment string // the segment file, in the damaged log
	Offset  int64
	Rec     []byte
}

// RepairReport says what Repair found and did.
type RepairReport struct {
	// Damage is what stops Open; nil means the log is intact and Repair
	// changed nothing.
	Damage *DamageError
	// Kept is the number of records before the damage: the repaired log
	// holds them, in order.
	Kept int
	// Dropped lists the records after the damage that could still be
	// read; the damaged record itself is among them when it parses.
	Dropped []Dropped
	// MovedTo is where the damaged log was moved; empty on a dry run.
	MovedTo string
}

// Repair checks the log in dir as Open would. When it is damaged and apply
// is set, it writes a new log holding every record before the damage, swaps
// it with dir, and keeps the damaged log in dir.damaged-<UTC time of now>.
// Without apply it only reports. The store owning the log must be closed.
func Repair(dir string, segSize int64, apply bool, now time.Time) (*RepairReport, error) {
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return &RepairReport{}, nil // no log: nothing to replay
	}
	segs, _, err := list(dir)
	if err != nil {
		return nil, err
	}
	var kept [][]byte
	_, err = replayAll(segs, func(rec []byte) error {
		kept = append(kept, bytes.Clone(rec))
		return nil
	})
	rep := &RepairReport{Kept: len(kept)}
	if err == nil {
		return rep, nil
	}
	if !errors.As(err, &rep.Damage) {
		return nil, err
	}
	if rep.Dropped, err = dropped(segs, rep.Damage); err != nil {
		return nil, err
	}
	if !apply {
		return rep, nil
	}
	clean := filepath.Clean(dir)
	tmp := clean + ".repair"
	if err := os.RemoveAll(tmp); err != nil { // left by an interrupted repair
		return nil, fmt.Errorf("write-ahead log repair: %w", err)
	}
	l, err := Open(tmp, segSize, func([]byte) error { return nil })
	if err != nil {
		return nil, fmt.Errorf("write-ahead log repair: %w", err)
	}
	for _, rec := range kept {
		if err := l.Append(rec); err != nil {
			_ = l.Close()
			return nil, fmt.Errorf("write-ahead log repair: %w", err)
		}
	}
	if err := l.Close(); err != nil {
		return nil, fmt.Errorf("write-ahead log repair: %w", err)
	}
	aside := clean + ".damaged-" + now.UTC().Format("20060102T150405Z")
	if _, err := os.Lstat(aside); err == nil {
		return nil, fmt.Errorf("write-ahead log repair: %s exists already", aside)
	}
	// Exchange the directories in one step, so that a crash leaves either
	// log in place, never none; file systems without RENAME_EXCHANGE get
	// two renames.
	if err := unix.Renameat2(unix.AT_FDCWD, tmp, unix.AT_FDCWD, clean, unix.RENAME_EXCHANGE); err == nil {
		err = os.Rename(tmp, aside)
		if err != nil {
			return nil, fmt.Errorf("write-ahead log repair: the repaired log is in place; move the damaged one aside: %w", err)
		}
	} else {
		if err := os.Rename(clean, aside); err != nil {
			return nil, fmt.Errorf("write-ahead log repair: %w", err)
		}
		if err := os.Rename(tmp, clean); err != nil {
			return nil, fmt.Errorf("write-ahead log repair: the damaged log is in %s, the repaired one in %s: rename it to %s: %w", aside, tmp, clean, err)
		}
	}
	if err := syncDir(filepath.Dir(clean)); err != nil {
		return nil, err
	}
	rep.MovedTo = aside
	return rep, nil
}

// dropped lists the well-formed records from the damage on: in the damaged
// segment from its offset, in every later one from its start.
func dropped(segs []segFile, d *DamageError) ([]Dropped, error) {
	var out []Dropped
	found := false
	for _, s := range segs {
		if s.name == d.Segment {
			found = true
		}
		if !found || s.legacy {
			continue
		}
		data, err := os.ReadFile(s.name)
		if err != nil {
			return nil, fmt.Errorf("write-ahead log: %w", err)
		}
		from := int64(0)
		if s.name == d.Segment {
			from = d.Offset
		}
		for p := findRecord(data, s.seq, from); p >= 0; {
			rec, n, _ := parse(data, p, s.seq)
			if p != 0 || len(rec) != startLen { // not a start record
				out = append(out, Dropped{Segment: s.name, Offset: p, Rec: bytes.Clone(rec)})
			}
			p = findRecord(data, s.seq, p+n)
		}
	}
	return out, nil
}
