package badger

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	badgerdb "github.com/dgraph-io/badger/v4"
)

// The write-ahead log (db/internal/wal) makes commits durable; Badger runs
// without SyncWrites. See the package comment for the protocol.

const (
	// walDir is the log's directory inside the database directory, so that
	// the log moves (and is locked) with the database.
	walDir = "mayfly-wal"
	// defaultWALSegmentSize is used when Options.WALSegmentSize is 0.
	defaultWALSegmentSize = 64 << 20
	// memSuffix names Badger's memtable write-ahead files (%05d.mem).
	memSuffix = ".mem"
)

const (
	walSet    byte = 1
	walDelete byte = 2
)

// wtxn is a batch transaction that also encodes its writes as one
// write-ahead log record: what committing it changes, in order.
type wtxn struct {
	txn *badgerdb.Txn
	rec []byte
}

func (w *wtxn) Get(k []byte) (*badgerdb.Item, error) { return w.txn.Get(k) }

// Set is badger's Set; k and v must not change until the commit.
func (w *wtxn) Set(k, v []byte) error {
	if err := w.txn.Set(k, v); err != nil {
		return err
	}
	w.rec = append(w.rec, walSet)
	w.rec = binary.AppendUvarint(w.rec, uint64(len(k)))
	w.rec = append(w.rec, k...)
	w.rec = binary.AppendUvarint(w.rec, uint64(len(v)))
	w.rec = append(w.rec, v...)
	return nil
}

func (w *wtxn) Delete(k []byte) error {
	if err := w.txn.Delete(k); err != nil {
		return err
	}
	w.rec = append(w.rec, walDelete)
	w.rec = binary.AppendUvarint(w.rec, uint64(len(k)))
	w.rec = append(w.rec, k...)
	return nil
}

// replayRecord applies one log record to db (replay at Open), in as many
// transactions as Badger's size limit needs; applying a record twice
// leaves the same data.
func replayRecord(db *badgerdb.DB, rec []byte) error {
	txn := db.NewTransaction(true)
	defer func() { txn.Discard() }()
	do := func(kind byte, k, v []byte) error {
		if kind == walSet {
			return txn.Set(k, v)
		}
		return txn.Delete(k)
	}
	for len(rec) > 0 {
		kind := rec[0]
		k, rest, ok := field(rec[1:])
		if !ok || (kind != walSet && kind != walDelete) {
			return errors.New("malformed record")
		}
		var v []byte
		if kind == walSet {
			if v, rest, ok = field(rest); !ok {
				return errors.New("malformed record")
			}
		}
		rec = rest
		err := do(kind, k, v)
		if errors.Is(err, badgerdb.ErrTxnTooBig) {
			if err = txn.Commit(); err != nil {
				return err
			}
			txn = db.NewTransaction(true)
			err = do(kind, k, v)
		}
		if err != nil {
			return err
		}
	}
	return txn.Commit()
}

// field reads a uvarint length and that many bytes.
func field(b []byte) (f, rest []byte, ok bool) {
	n, l := binary.Uvarint(b)
	if l <= 0 || n > uint64(len(b)-l) {
		return nil, nil, false
	}
	return b[l : l+int(n)], b[l+int(n):], true
}

// checkpoint is a sealed run of log segments, retired once Badger has made
// their writes durable: up to seq, whose writes were all in Badger when the
// active memtable's WAL was synced, waiting for the older memtables (mem,
// their WAL files) to be flushed to tables. A nil mem means that no
// memtable file was found: Badger's layout is not the expected one, so the
// segments are only retired by a clean Close.
type checkpoint struct {
	seq uint64
	mem []string
}

// checkpointLog runs on the committer when the current segment is full:
// every write it holds is committed to Badger, so syncing Badger's active
// memtable and waiting for the flush of the older ones makes them durable
// without the log. It rotates the log and retires what earlier checkpoints
// sealed. A failure leaves the segment current; the next commit retries.
func (s *Store) checkpointLog() {
	if err := s.db.Sync(); err != nil {
		s.logf("write-ahead log checkpoint: sync: %v", err)
		return
	}
	mem, err := immutableMemtables(s.dir)
	if err != nil {
		s.logf("write-ahead log checkpoint: %v", err)
		return
	}
	seq, err := s.wal.Rotate()
	if err != nil {
		s.logf("write-ahead log checkpoint: %v", err)
		return
	}
	s.sealed = append(s.sealed, checkpoint{seq: seq, mem: mem})
	s.retireSealed()
}

// retireSealed retires the segments of each checkpoint, oldest first, whose
// memtables are all flushed.
func (s *Store) retireSealed() {
	for len(s.sealed) > 0 {
		c := s.sealed[0]
		if c.mem == nil || slices.ContainsFunc(c.mem, fileExists) {
			return
		}
		if err := s.wal.Retire(c.seq); err != nil {
			s.logf("write-ahead log: %v", err)
			return
		}
		s.sealed = s.sealed[1:]
	}
}

func fileExists(name string) bool {
	_, err := os.Lstat(name)
	return err == nil
}

// immutableMemtables lists Badger's memtable files in dir except the newest
// (the active memtable): with SyncWrites off their WAL may not be synced,
// and Badger removes each file once its memtable is a durable table. nil
// means that no memtable file exists, which Badger v4 never leaves.
func immutableMemtables(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list memtables: %w", err)
	}
	type mt struct {
		fid  uint64
		name string
	}
	var mts []mt
	for _, e := range entries {
		stem, ok := strings.CutSuffix(e.Name(), memSuffix)
		if !ok {
			continue
		}
		fid, err := strconv.ParseUint(stem, 10, 32)
		if err != nil {
			continue
		}
		mts = append(mts, mt{fid, filepath.Join(dir, e.Name())})
	}
	if len(mts) == 0 {
		return nil, nil
	}
	slices.SortFunc(mts, func(a, b mt) int { return int(int64(a.fid) - int64(b.fid)) })
	out := make([]string, 0, len(mts)-1)
	for _, m := range mts[:len(mts)-1] {
		out = append(out, m.name)
	}
	return out, nil
}
