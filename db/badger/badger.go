// Package badger is the Badger v4 backend of the authority's storage port
// (store.Store). It keeps step-ca's logical layout (wire-spec §6.2/§6.3): one
// key space holding table markers and records keyed
// u16le(len(bucket))||bucket||u16le(len(key))||key.
//
// Durability uses group commit and a write-ahead log of the store's own
// (db/internal/wal, in the mayfly-wal directory inside the database): every
// write is handed to one committer goroutine, which applies all writes
// waiting at that moment in a single badger transaction, appends that
// transaction's writes to the log as one record with write(2)+fdatasync(2),
// commits the transaction to Badger (without SyncWrites) and only then
// answers every waiter. Concurrent writers therefore share one sync.
//
// Why not Badger's SyncWrites: badger v4 (v4.9.6) keeps its memtable WAL in
// a memory-mapped file and, with SyncWrites, msyncs it after each write
// request and msyncs the value log too (empty here: values stay below the
// 1 MiB value threshold). Each msync write-protects the pages it cleaned,
// so the next writes fault; measured, a commit cost about twice the CPU of
// write+fdatasync, and with 16 clients renewing, the CA's CPU per
// certificate fell by 10-15% with the log.
//
// Checkpoints: when a log segment is full, the committer (all of whose
// writes are in Badger by then) notes Badger's current version
// (DB.MaxVersion), rotates the log, and retires the sealed segments once
// Badger's tables (DB.Tables) hold that version: Badger lists a table only
// after syncing it and recording it in its synced MANIFEST, and flushes
// memtables oldest first, so the memtables' own unsynced logs are then no
// longer needed. Only Badger's public API is used; see checkpoint. A clean
// Close (Badger flushes every memtable) removes the log.
// Open replays every remaining segment into Badger before serving; replay
// is idempotent (sets and deletes, in commit order).
package badger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	badgerdb "github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
	"github.com/sirupsen/logrus"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/db/internal/bloom"
	"github.com/mayfly-pki/mayfly/db/internal/linger"
	"github.com/mayfly-pki/mayfly/db/internal/reserve"
	"github.com/mayfly-pki/mayfly/db/internal/steplayout"
	"github.com/mayfly-pki/mayfly/db/internal/wal"
	"github.com/mayfly-pki/mayfly/internal/errs"

	"github.com/mayfly-pki/mayfly/internal/meter"
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
	// PageOutInterval is how often the pages of Badger's tables mapped
	// into the process are handed back to the kernel (see pageOutTables):
	// 0 means 10 s, a negative value never.
	PageOutInterval time.Duration
	// MaxBatch bounds the writes applied in one group commit; 0 means 256.
	MaxBatch int
	// CommitWindow bounds how long a group commit waits for the writes of
	// requests announced through ExpectWrite: 0 means linger.DefaultWindow,
	// a negative value never waits.
	CommitWindow time.Duration
	// WALSegmentSize is the size of the write-ahead log's segment files; 0
	// means 64 MiB.
	WALSegmentSize int64
	// Meter receives each group commit's duration and batch size (nil: none).
	Meter meter.Commits
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
	valueDir string
	db       *badgerdb.DB
	maxBatch int
	meter    meter.Commits

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
	// tokens holds every used_ott key once tokensReady is set (see
	// loadTokens): a key it has never seen is not in the table, so a fresh
	// token is accepted without a Badger lookup (about 11 µs under load,
	// mostly cache misses in the memtable skiplists). tokenLookups counts
	// the lookups made (read by tests).
	tokens       *bloom.Filter
	tokensReady  atomic.Bool
	tokensLoaded chan struct{} // closed when loadTokens has returned
	tokenLookups atomic.Int64

	// wal makes commits durable (Badger runs without SyncWrites); sealed
	// are its checkpoints waiting to retire. Both belong to the committer
	// (and to Open and Close, when it is not running).
	wal    *wal.Log
	sealed []checkpoint
	rec    []byte             // the committer's record buffer
	log    logrus.FieldLogger // nil: discard

	// tableDirs are the directories of Badger's tables as the kernel
	// names them; pageOutLoop runs until pageOutStop is closed (by Close)
	// and closes pageOutDone.
	tableDirs   []string
	pageOutStop chan struct{}
	pageOutDone chan struct{}
	pageOutKick chan struct{} // buffered 1; see pageOutSoon
}

var (
	_ store.Store              = (*Store)(nil)
	_ store.OrderedTokens      = (*Store)(nil)
	_ store.QueuedCertificates = (*Store)(nil)
	_ store.WriteHinter        = (*Store)(nil)
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
	if err := checkFormat(opts.Dir, opts.ValueDir); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("open badger database %s: %w", opts.Dir, err)
	}
	db, err := badgerdb.Open(bopts)
	if err != nil {
		return nil, fmt.Errorf("open badger database %s: %w", opts.Dir, oneLine{err})
	}
	segSize := opts.WALSegmentSize
	if segSize == 0 {
		segSize = defaultWALSegmentSize
	}
	// Writes acknowledged before a crash that Badger had not yet made
	// durable itself are in the log: apply them again.
	log, err := wal.Open(filepath.Join(opts.Dir, walDir), segSize, func(rec []byte) error { return replayRecord(db, rec) })
	if err != nil {
		_ = db.Close()
		if errors.Is(err, wal.ErrDamaged) {
			err = damagedLog{err}
		}
		return nil, fmt.Errorf("open badger database %s: %w", opts.Dir, err)
	}
	if err := restrictModes(opts.Dir, bopts.ValueDir); err != nil {
		_ = log.Close()
		_ = db.Close()
		return nil, fmt.Errorf("open badger database %s: %w", opts.Dir, oneLine{err})
	}
	if c := log.Cut(); c != nil && opts.Logger != nil {
		opts.Logger.WithFields(logrus.Fields{"segment": c.Segment, "offset": c.Offset}).
			Warn("write-ahead log: left out a torn record at its end (a write a crash interrupted, never acknowledged)")
	}
	if err := createTables(db); err != nil {
		_ = log.Close()
		_ = db.Close()
		return nil, fmt.Errorf("open badger database %s: create tables: %w", opts.Dir, err)
	}
	revoked, err := loadRevoked(db)
	if err != nil {
		_ = log.Close()
		_ = db.Close()
		return nil, fmt.Errorf("open badger database %s: read table %s: %w", opts.Dir, steplayout.TableRevokedCerts, err)
	}
	maxBatch := opts.MaxBatch
	if maxBatch <= 0 {
		maxBatch = defaultMaxBatch
	}
	s := &Store{
		dir:      opts.Dir,
		valueDir: bopts.ValueDir,
		db:       db,
		maxBatch: maxBatch,
		meter:    meter.CommitsOr(opts.Meter),
		gate:     linger.New(opts.CommitWindow),
		ops:      make(chan *op, opsQueue),
		done:     make(chan struct{}),
		reserved: reserve.New(),
		revoked:  revoked,
		wal:      log,
		log:      opts.Logger,

		tokens:       bloom.New(0),
		tokensLoaded: make(chan struct{}),

		tableDirs:   tableDirs(opts.Dir, bopts.ValueDir),
		pageOutStop: make(chan struct{}),
		pageOutDone: make(chan struct{}),
		pageOutKick: make(chan struct{}, 1),
	}
	go s.run()
	go s.loadTokens()
	switch interval := opts.PageOutInterval; {
	case interval == 0:
		go s.pageOutLoop(defaultPageOutInterval, s.pageOutStop)
	case interval > 0:
		go s.pageOutLoop(interval, s.pageOutStop)
	default:
		close(s.pageOutDone)
	}
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
		// Durability comes from the store's own write-ahead log, synced
		// before each commit; see the package comment.
		WithSyncWrites(false).
		// One committer goroutine is the only writer, so badger's conflict
		// tracking would only cost time.
		WithDetectConflicts(false).
		WithMetricsEnabled(false).
		// A CA writes a few KiB per certificate and reads single keys
		// (revocations, used tokens): badger's defaults (five 64 MiB
		// memtables, a 256 MiB block cache) would cost far more memory than
		// they save. Two 32 MiB memtables (one filling, one flushing).
		WithMemTableSize(defaultMemTableSize).
		WithNumMemtables(2).
		// Certificates and tokens hardly compress, and Snappy tables are
		// read through decompressed copies of their blocks (allocated on the
		// heap, kept in a block cache): uncompressed tables are read in place
		// from their memory map and need no cache. Measured after 100,000
		// certificates: resident set 263 MB instead of 420 MB (heap 95 MB
		// instead of 311 MB). Tables written compressed stay readable
		// (each table records its compression), uncached.
		WithCompression(options.None).
		WithBlockCacheSize(0).
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
	err := db.Update(func(txn *badgerdb.Txn) error {
		for _, t := range steplayout.AuthorityTables() {
			if err := txn.Set(tableMarker(t), []byte{}); err != nil {
				return fmt.Errorf("table %s: %w", t, err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	// Not through the log: the markers (and what replay applied) become
	// durable here, in Badger's own files.
	return db.Sync()
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
	<-s.tokensLoaded // stops at its next chunk, which sees closed
	close(s.pageOutStop)
	<-s.pageOutDone
	if err := s.db.Close(); err != nil {
		_ = s.wal.Close()
		return fmt.Errorf("close badger database %s: %w", s.dir, oneLine{err})
	}
	// Badger's Close flushed every memtable to a durable table: the log
	// holds nothing Badger does not.
	if err := s.wal.RemoveAll(); err != nil {
		return fmt.Errorf("close badger database %s: %w", s.dir, err)
	}
	// Badger's Close wrote tables after the last checkpoint.
	if err := restrictModes(s.dir, s.valueDir); err != nil {
		s.logf("%v", err)
	}
	return nil
}

func (s *Store) logf(format string, args ...any) {
	if s.log != nil {
		s.log.Errorf("badger database %s: "+format, append([]any{s.dir}, args...)...)
	}
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
