package badger

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode"

	badgerdb "github.com/dgraph-io/badger/v4"

	"github.com/mayfly-pki/mayfly/db/internal/wal"
)

// ErrDamagedLog is matched (errors.Is) by Open's error when the database's
// write-ahead log is damaged other than by a torn last record: replaying
// past the damage would apply later writes without the damaged one.
// RepairLog keeps the writes before the damage.
var ErrDamagedLog = errors.New("write-ahead log damaged")

// damagedLog marks a wal.DamageError as ErrDamagedLog.
type damagedLog struct{ err error }

func (d damagedLog) Error() string        { return d.err.Error() }
func (d damagedLog) Unwrap() error        { return d.err }
func (d damagedLog) Is(target error) bool { return target == ErrDamagedLog }

// LogRepair is what RepairLog found and did.
type LogRepair struct {
	// Log is the write-ahead log directory.
	Log string
	// Damage describes the damage in one line; empty when the log is
	// intact, and then nothing was changed.
	Damage string
	// Kept is the number of commits before the damage, which the repaired
	// log holds.
	Kept int
	// Dropped are the commits after the damage that could still be read
	// and are left out.
	Dropped []DroppedCommit
	// MovedTo is where the damaged log was moved; empty on a dry run.
	MovedTo string
}

// DroppedCommit is one commit (log record) RepairLog leaves out.
type DroppedCommit struct {
	Segment string
	Offset  int64
	// Writes name each write of the commit: "set <table>/<key>" or
	// "delete <table>/<key>" (keys are serials and token ids, never values).
	Writes []string
}

// RepairLog checks the write-ahead log of the badger database in opts.Dir
// and, when it is damaged and apply is set, replaces it with a log holding
// every commit before the damage, keeping the damaged log beside it
// (mayfly-wal.damaged-<UTC time>). Without apply it only reports. It holds
// Badger's directory lock meanwhile, so it fails while step-ca runs.
func RepairLog(ctx context.Context, opts Options, apply bool) (*LogRepair, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	bopts, err := badgerOptions(opts)
	if err != nil {
		return nil, err
	}
	if err := checkFormat(opts.Dir, opts.ValueDir); err != nil {
		return nil, err
	}
	db, err := badgerdb.Open(bopts)
	if err != nil {
		return nil, fmt.Errorf("open badger database %s: %w", opts.Dir, oneLine{err})
	}
	defer db.Close()
	segSize := opts.WALSegmentSize
	if segSize == 0 {
		segSize = defaultWALSegmentSize
	}
	dir := filepath.Join(opts.Dir, walDir)
	rep, err := wal.Repair(dir, segSize, apply, time.Now())
	if err != nil {
		return nil, fmt.Errorf("badger database %s: %w", opts.Dir, err)
	}
	out := &LogRepair{Log: dir, Kept: rep.Kept, MovedTo: rep.MovedTo}
	if rep.Damage != nil {
		out.Damage = rep.Damage.Error()
	}
	for _, d := range rep.Dropped {
		out.Dropped = append(out.Dropped, DroppedCommit{Segment: d.Segment, Offset: d.Offset, Writes: describeRecord(d.Rec)})
	}
	return out, nil
}

// describeRecord names the writes of a log record (see wtxn).
func describeRecord(rec []byte) []string {
	var out []string
	for len(rec) > 0 {
		kind := rec[0]
		k, rest, ok := field(rec[1:])
		if !ok || (kind != walSet && kind != walDelete) {
			return append(out, "(unreadable rest of the commit)")
		}
		verb := "set"
		if kind == walDelete {
			verb = "delete"
		} else if _, rest, ok = field(rest); !ok {
			return append(out, "(unreadable rest of the commit)")
		}
		out = append(out, verb+" "+describeKey(k))
		rec = rest
	}
	return out
}

// describeKey renders a record key as table/key, a table marker as table.
func describeKey(k []byte) string {
	if len(k) < 2 {
		return fmt.Sprintf("%q", k)
	}
	n := int(binary.LittleEndian.Uint16(k))
	if 2+n > len(k) {
		return fmt.Sprintf("%q", k)
	}
	bucket, rest := k[2:2+n], k[2+n:]
	if len(rest) == 0 {
		return string(bucket)
	}
	if len(rest) < 2 || int(binary.LittleEndian.Uint16(rest))+2 != len(rest) {
		return fmt.Sprintf("%q", k)
	}
	key := string(rest[2:])
	if strings.ContainsFunc(key, func(r rune) bool { return !unicode.IsPrint(r) || r == ' ' }) {
		key = strconv.Quote(key)
	}
	return string(bucket) + "/" + key
}
