// Package badger is the Badger v4 backend of the authority's storage port
// (store.Store). It keeps step-ca's logical layout (wire-spec §6.2/§6.3): one
// key space holding table markers and records keyed
// u16le(len(bucket))||bucket||u16le(len(key))||key.
//
// Durability uses group commit: every write is handed to one committer
// goroutine, which applies all writes waiting at that moment in a single
// badger transaction committed with SyncWrites, then answers every waiter.
// Concurrent writers therefore share one sync.
//
// What makes badger v4 (v4.9.6) durable, from its source: with SyncWrites,
// writeToLSM msyncs the active memtable's WAL after each write request, before
// Commit returns (db.go), and vlog.write msyncs the value log, logging but not
// returning a failure (value.go); values here stay below the 1 MiB value
// threshold, so they live only in the WAL. DB.Sync() msyncs only the current
// memtable's WAL and value log: a memtable rotated between a commit and the
// Sync would stay unsynced until flushed, so it is not used. Badger's write
// goroutine groups concurrent transactions into one request list but still
// syncs once per transaction, so SyncWrites alone does not share syncs;
// committing one transaction per batch does.
package badger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	badgerdb "github.com/dgraph-io/badger/v4"
	"github.com/sirupsen/logrus"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/db/internal/linger"
	"github.com/mayfly-pki/mayfly/db/internal/reserve"
	"github.com/mayfly-pki/mayfly/db/internal/steplayout"
	"github.com/mayfly-pki/mayfly/internal/errs"
)

// Options configure Open.
type Options struct {
	// Dir is the database directory (ca.json db.dataSource). It is created
	// 0700 when missing; an existing empty directory is fine.
	Dir string
	// ValueDir holds badger's value log (ca.json db.valueDir); empty means Dir.
	ValueDir string
	// FileLoadingMode is ca.json db.badgerFileLoadingMode: "", "FileIO" or
	// "MemoryMap" (case-insensitive). Badger v4 has no such setting (it always
	// memory-maps its tables), so a valid value is accepted and has no effect.
	FileLoadingMode string
	// Logger receives badger's warnings and errors. Nil discards them.
	Logger logrus.FieldLogger
	// MemTableSize is badger's memtable size in bytes; 0 means 32 MiB.
	// Values below 16 MiB are refused, so that the largest
	// record this store accepts always fits in one transaction.
	MemTableSize int64
	// MaxBatch bounds the writes applied in one group commit; 0 means 256.
	MaxBatch int
	// CommitWindow bounds how long a group commit waits for the writes of
	// requests announced through ExpectWrite: 0 means linger.DefaultWindow,
	// a negative value never waits.
	CommitWindow time.Duration
}

const (
	defaultMaxBatch = 256
	minMemTableSize = 16 << 20
	// defaultMemTableSize is used when Options.MemTableSize is 0.
	defaultMemTableSize = 32 << 20
	// maxValueLen bounds each stored value (DER, data JSON, raw token,
	// revocation JSON). It keeps values inline in badger's WAL (below its
	// 1 MiB value threshold) and every write inside one transaction.
	maxValueLen = 512 << 10
	// opsQueue is the capacity of the committer's queue; writers block (and
	// honour their context) when it is full.
	opsQueue = 1024
)

// Store is a store.Store on a Badger v4 database.
//
// All methods are safe for concurrent use. Write methods return after their
// data is durable; reads see every write that has returned. After Close every
// method returns an error of kind errs.Unavailable.
type Store struct {
	dir      string
	db       *badgerdb.DB
	maxBatch int

	// mu guards closed and the send side of ops: writers hold it (read) while
	// enqueueing, readers while reading, Close (write) to shut down.
	mu     sync.RWMutex
	closed bool
	ops    chan *op
	done   chan struct{} // closed when the committer has exited

	commits atomic.Int64 // transactions committed (read by tests and benchmarks)
	gate    *linger.Gate // announced writers; the committer lingers for them

	// reserved holds used-token keys handed to the committer but not yet
	// committed. With the database (read while the set is locked) it decides
	// UseToken atomically without waiting for a commit.
	reserved *reserve.Set
	// revoked holds every serial that may be revoked (see revokedSet).
	revoked *revokedSet
}

var (
	_ store.Store         = (*Store)(nil)
	_ store.OrderedTokens = (*Store)(nil)
	_ store.WriteHinter   = (*Store)(nil)
)

// Open opens (creating when missing) the badger database in opts.Dir, writes
// the authority table markers, and starts the committer goroutine that Close
// stops. A directory holding an older Badger format (step-ca's Badger v1/v2)
// is refused with an error naming the directory. ctx bounds only the checks
// before badger is opened; badger's own open is not interruptible.
func Open(ctx context.Context, opts Options) (*Store, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("open badger database %s: %w", opts.Dir, err)
	}
	bopts, err := badgerOptions(opts)
	if err != nil {
		return nil, err
	}
	for _, d := range []string{opts.Dir, bopts.ValueDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("open badger database %s: create directory: %w", opts.Dir, err)
		}
	}
	if err := checkFormat(opts.Dir); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("open badger database %s: %w", opts.Dir, err)
	}
	db, err := badgerdb.Open(bopts)
	if err != nil {
		return nil, fmt.Errorf("open badger database %s: %w", opts.Dir, oneLine{err})
	}
	if err := createTables(db); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open badger database %s: create tables: %w", opts.Dir, err)
	}
	revoked, err := loadRevoked(db)
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open badger database %s: read table %s: %w", opts.Dir, steplayout.TableRevokedCerts, err)
	}
	maxBatch := opts.MaxBatch
	if maxBatch <= 0 {
		maxBatch = defaultMaxBatch
	}
	s := &Store{
		dir:      opts.Dir,
		db:       db,
		maxBatch: maxBatch,
		gate:     linger.New(opts.CommitWindow),
		ops:      make(chan *op, opsQueue),
		done:     make(chan struct{}),
		reserved: reserve.New(),
		revoked:  revoked,
	}
	go s.run()
	return s, nil
}

func badgerOptions(opts Options) (badgerdb.Options, error) {
	if opts.Dir == "" {
		return badgerdb.Options{}, errors.New("open badger database: no directory given (db.dataSource)")
	}
	switch strings.ToLower(opts.FileLoadingMode) {
	case "", "fileio", "memorymap":
	default:
		return badgerdb.Options{}, fmt.Errorf("open badger database %s: invalid badgerFileLoadingMode %q (want FileIO or MemoryMap)", opts.Dir, opts.FileLoadingMode)
	}
	if opts.MemTableSize != 0 && opts.MemTableSize < minMemTableSize {
		return badgerdb.Options{}, fmt.Errorf("open badger database %s: memtable size %d is below the minimum %d", opts.Dir, opts.MemTableSize, minMemTableSize)
	}
	valueDir := opts.ValueDir
	if valueDir == "" {
		valueDir = opts.Dir
	}
	b := badgerdb.DefaultOptions(opts.Dir).
		WithValueDir(valueDir).
		// Commit msyncs the memtable WAL (and the value log) before it
		// returns; see the package comment for how writers share it.
		WithSyncWrites(true).
		// One committer goroutine is the only writer, so badger's conflict
		// tracking would only cost time.
		WithDetectConflicts(false).
		WithMetricsEnabled(false).
		// A CA writes a few KiB per certificate and reads single keys
		// (revocations, used tokens): badger's defaults (five 64 MiB
		// memtables, a 256 MiB block cache) would cost far more memory than
		// they save. Two 32 MiB memtables (one filling, one flushing) and a
		// 16 MiB block cache keep the resident set small.
		WithMemTableSize(defaultMemTableSize).
		WithNumMemtables(2).
		WithBlockCacheSize(16 << 20).
		WithLogger(nil)
	if opts.Logger != nil {
		b = b.WithLogger(newBadgerLogger(opts.Logger, opts.Dir))
	}
	if opts.MemTableSize != 0 {
		b = b.WithMemTableSize(opts.MemTableSize)
	}
	return b, nil
}

// createTables writes the marker of every authority table, as step-ca does at
// each start, in one durable transaction.
func createTables(db *badgerdb.DB) error {
	return db.Update(func(txn *badgerdb.Txn) error {
		for _, t := range steplayout.AuthorityTables() {
			if err := txn.Set(tableMarker(t), []byte{}); err != nil {
				return fmt.Errorf("table %s: %w", t, err)
			}
		}
		return nil
	})
}

// Close stops accepting work, commits every write already queued (their
// callers get their normal answers), stops the committer and closes badger.
// A second Close returns an error.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return s.errClosed()
	}
	s.closed = true
	close(s.ops)
	s.mu.Unlock()
	<-s.done
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close badger database %s: %w", s.dir, oneLine{err})
	}
	return nil
}

func (s *Store) errClosed() error {
	return errs.E(errs.Unavailable, "database closed", fmt.Errorf("badger database %s is closed", s.dir))
}

// GetCertificate returns the x509_certs and x509_certs_data records of serial
// (Data is nil when the data record is absent). NotAfter and Subject come
// from the DER, Provisioner from the data JSON's provisioner.name.
func (s *Store) GetCertificate(ctx context.Context, serial string) (*store.Certificate, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("get certificate %s: %w", serial, err)
	}
	if err := checkKey("serial", serial); err != nil {
		return nil, err
	}
	var der, data []byte
	err := s.view(func(txn *badgerdb.Txn) error {
		var err error
		if der, err = get(txn, steplayout.TableCerts, serial); err != nil {
			return err
		}
		data, err = get(txn, steplayout.TableCertsData, serial)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("get certificate %s: %w", serial, err)
	}
	c, err := steplayout.CertificateFromRecords(serial, der, data)
	if err != nil {
		return nil, fmt.Errorf("badger database %s: %w", s.dir, err)
	}
	return c, nil
}

// GetRevocation returns the revoked_x509_certs record of serial.
func (s *Store) GetRevocation(ctx context.Context, serial string) (*store.Revocation, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("get revocation %s: %w", serial, err)
	}
	if err := checkKey("serial", serial); err != nil {
		return nil, err
	}
	if !s.revoked.has(serial) {
		s.mu.RLock()
		closed := s.closed
		s.mu.RUnlock()
		if closed {
			return nil, fmt.Errorf("get revocation %s: %w", serial, s.errClosed())
		}
		return nil, fmt.Errorf("get revocation %s: table %s: %w", serial, steplayout.TableRevokedCerts, store.ErrNotFound)
	}
	var raw []byte
	err := s.view(func(txn *badgerdb.Txn) error {
		var err error
		raw, err = get(txn, steplayout.TableRevokedCerts, serial)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("get revocation %s: %w", serial, err)
	}
	var r store.Revocation
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("badger database %s: table %s, serial %s: decode revocation: %w", s.dir, steplayout.TableRevokedCerts, serial, err)
	}
	return &r, nil
}

// view runs fn in a read-only transaction unless the store is closed.
func (s *Store) view(fn func(txn *badgerdb.Txn) error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return s.errClosed()
	}
	if err := s.db.View(fn); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return err
		}
		return fmt.Errorf("badger database %s: %w", s.dir, err)
	}
	return nil
}

// get returns a copy of bucket[key], or store.ErrNotFound.
func get(txn *badgerdb.Txn, bucket, key string) ([]byte, error) {
	item, err := txn.Get(recordKey(bucket, key))
	if errors.Is(err, badgerdb.ErrKeyNotFound) {
		return nil, fmt.Errorf("table %s: %w", bucket, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("table %s: %w", bucket, err)
	}
	v, err := item.ValueCopy(nil)
	if err != nil {
		return nil, fmt.Errorf("table %s: read value: %w", bucket, err)
	}
	return v, nil
}
