package badger

import (
	"encoding/binary"
	"errors"

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

// checkpoint is a sealed run of log segments, up to seq, all of whose
// writes Badger holds at versions up to version. The segments retire once
// Badger's tables hold that version: Badger flushes memtables to tables
// oldest first, each with the versions of a run of commits (one
// committer), so a table holding a version means that every earlier one is
// in a table too; and a table is listed (DB.Tables) only after it was
// synced and recorded in the synced MANIFEST. This uses Badger's public API
// only (DB.MaxVersion, DB.Tables); TestTablesHoldEveryEarlierWrite checks
// the claim against the Badger in go.mod.
type checkpoint struct {
	seq     uint64
	version uint64
}

// checkpointLog runs on the committer when the current segment is full:
// every write it holds is committed to Badger, at versions up to Badger's
// current one. It rotates the log and retires what earlier checkpoints
// sealed. A failure leaves the segment current; the next commit retries.
func (s *Store) checkpointLog() {
	version := s.db.MaxVersion()
	seq, err := s.wal.Rotate()
	if err != nil {
		s.logf("write-ahead log checkpoint: %v", err)
		return
	}
	s.sealed = append(s.sealed, checkpoint{seq: seq, version: version})
	s.retireSealed()
	if err := restrictModes(s.dir, s.valueDir); err != nil {
		s.logf("%v", err)
	}
}

// retireSealed retires the segments of each checkpoint, oldest first, whose
// writes Badger's tables hold.
func (s *Store) retireSealed() {
	if len(s.sealed) == 0 {
		return
	}
	flushed := flushedVersion(s.db)
	for len(s.sealed) > 0 && s.sealed[0].version <= flushed {
		if err := s.wal.Retire(s.sealed[0].seq); err != nil {
			s.logf("write-ahead log: %v", err)
			return
		}
		s.sealed = s.sealed[1:]
	}
}

// flushedVersion returns the highest version held by Badger's tables.
func flushedVersion(db *badgerdb.DB) uint64 {
	var v uint64
	for _, t := range db.Tables() {
		v = max(v, t.MaxVersion)
	}
	return v
}
