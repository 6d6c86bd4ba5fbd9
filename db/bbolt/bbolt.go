// Package bbolt is the bbolt backend of the authority's storage port
// (store.Store): one database file (ca.json db.dataSource) holding one
// bucket per step-ca table (wire-spec §6.3), with the same keys and values
// as step-ca's and the badger backend's: x509_certs[serial] = DER,
// x509_certs_data[serial] = data JSON, revoked_x509_certs[serial] =
// revocation JSON with Go field names, used_ott[key] = raw token.
//
// Durability. bbolt fsyncs (fdatasync) the file at every commit. Writes go
// through db.Batch, which runs the updates of concurrent callers in one
// transaction, so they share one commit and its syncs. db.Batch may run a
// function more than once (when another function of the batch fails, the
// batch is rolled back and run again), so every write function decides its
// outcome inside the transaction, from the bucket, on every run: the
// insert-if-absent of UseToken and Revoke stays exact.
//
// One process at a time: bbolt holds an exclusive lock (flock) on the file.
// Open waits Options.LockTimeout for it and then fails with "locked by
// another process" instead of hanging.
package bbolt

import (
	"context"
	"errors"
	"fmt"
	"github.com/mayfly-pki/mayfly/db/internal/steplayout"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/internal/errs"
)

// Options configure Open.
type Options struct {
	// Path is the database file (ca.json db.dataSource). It is created 0600,
	// and its directory 0700, when missing.
	Path string
	// LockTimeout bounds the wait for the file lock another process holds;
	// 0 means 1 s.
	LockTimeout time.Duration
	// MaxBatchDelay is how long db.Batch waits for more writes before it
	// commits; 0 means defaultMaxBatchDelay.
	MaxBatchDelay time.Duration
	// MaxBatchSize commits a batch as soon as it holds that many writes; 0
	// means 1000 (bbolt's default).
	MaxBatchSize int
}

const (
	defaultLockTimeout = time.Second
	// defaultMaxBatchDelay: bbolt's 10 ms default adds 10 ms to every lone
	// write. A batch starts when its first write arrives and closes after
	// the delay, so the delay only needs to cover the writes that arrive
	// while the previous batch commits. BenchmarkBatchDelay on the
	// reference machine: 1 ms was 2-3x faster than 10 ms and than 200 µs
	// (too short: many small batches queue up) at 16 and 64 writers.
	defaultMaxBatchDelay = time.Millisecond
	defaultMaxBatchSize  = 1000
)

// Store is a store.Store on a bbolt file.
//
// All methods are safe for concurrent use. Write methods return after their
// transaction committed (the file is synced); reads see every write that
// has returned. After Close every method returns an error of kind
// errs.Unavailable.
type Store struct {
	path string
	db   *bolt.DB

	// mu guards closed: every call holds it (read) while it uses db, Close
	// (write) to shut down once they are done.
	mu     sync.RWMutex
	closed bool

	runs atomic.Int64 // write functions run, re-runs included (tests)
}

var _ store.Store = (*Store)(nil)

// Open opens (creating when missing) the bbolt file opts.Path and creates
// step-ca's authority buckets. A file locked by another process fails after
// opts.LockTimeout with an error saying so. ctx is checked before the file
// is opened; bbolt's open is not interruptible.
func Open(ctx context.Context, opts Options) (*Store, error) {
	if opts.Path == "" {
		return nil, errors.New("open bbolt database: db.dataSource is empty, want the database file path")
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("open bbolt database %s: %w", opts.Path, err)
	}
	if fi, err := os.Stat(opts.Path); err == nil && fi.IsDir() {
		return nil, fmt.Errorf("open bbolt database %s: it is a directory; bbolt keeps its data in one file, set db.dataSource to a file path", opts.Path)
	}
	if err := os.MkdirAll(filepath.Dir(opts.Path), 0o700); err != nil {
		return nil, unavailable(fmt.Errorf("open bbolt database %s: create directory: %w", opts.Path, err))
	}
	timeout := opts.LockTimeout
	if timeout <= 0 {
		timeout = defaultLockTimeout
	}
	db, err := bolt.Open(opts.Path, 0o600, &bolt.Options{Timeout: timeout})
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, unavailable(fmt.Errorf("open bbolt database %s: the database file is locked by another process (waited %s)", opts.Path, timeout))
	}
	if err != nil {
		return nil, unavailable(fmt.Errorf("open bbolt database %s: %w", opts.Path, err))
	}
	db.MaxBatchDelay = opts.MaxBatchDelay
	if db.MaxBatchDelay <= 0 {
		db.MaxBatchDelay = defaultMaxBatchDelay
	}
	db.MaxBatchSize = opts.MaxBatchSize
	if db.MaxBatchSize <= 0 {
		db.MaxBatchSize = defaultMaxBatchSize
	}
	if err := db.Update(createBuckets); err != nil {
		_ = db.Close()
		return nil, unavailable(fmt.Errorf("open bbolt database %s: create buckets: %w", opts.Path, err))
	}
	return &Store{path: opts.Path, db: db}, nil
}

// createBuckets creates every authority bucket, as step-ca does at each start.
func createBuckets(tx *bolt.Tx) error {
	for _, t := range steplayout.AuthorityTables() {
		if _, err := tx.CreateBucketIfNotExists([]byte(t)); err != nil {
			return fmt.Errorf("bucket %s: %w", t, err)
		}
	}
	return nil
}

// Close waits for the calls in progress (their writes commit), then closes
// the file and releases its lock. A second Close returns an error of kind
// errs.Unavailable.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return s.errClosed()
	}
	s.closed = true
	if err := s.db.Close(); err != nil {
		return unavailable(fmt.Errorf("close bbolt database %s: %w", s.path, err))
	}
	return nil
}

func (s *Store) errClosed() error {
	return errs.E(errs.Unavailable, "database closed", fmt.Errorf("bbolt database %s is closed", s.path))
}

// unavailable classifies a failure of the file or of bbolt (I/O error, full
// disk, permissions, lock) as errs.Unavailable.
func unavailable(err error) error {
	return errs.E(errs.Unavailable, "database unavailable", err)
}
