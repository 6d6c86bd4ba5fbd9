// Package bbolt is the bbolt backend of the authority's storage port
// (store.Store): one database file (ca.json db.dataSource) holding one
// bucket per step-ca table (wire-spec §6.3), with the same keys and values
// as step-ca's and the badger backend's: x509_certs[serial] = DER,
// x509_certs_data[serial] = data JSON, revoked_x509_certs[serial] =
// revocation JSON with Go field names, used_ott[key] = raw token.
//
// Durability uses group commit. bbolt fsyncs (fdatasync) the file at every
// commit. Every write is handed, through one queue, to one committer
// goroutine (started by Open, stopped by Close), which applies all writes
// waiting at that moment, in queue order, in one db.Update transaction (one
// commit, one sync), then answers every waiter. Writes arriving while a
// batch commits form the next batch, so concurrent writers share syncs
// without a timer. Revoke decides its insert-if-absent inside the
// transaction, from the bucket, so two revocations of one serial in one
// batch see each other. UseToken decides at once, from an in-memory
// reservation of the keys queued but not committed and a read of the
// committed file (see useToken), which also lets UseTokenOrdered
// (store.OrderedTokens) return before the commit.
//
// One process at a time: bbolt holds an exclusive lock (flock) on the file.
// Open waits Options.LockTimeout for it and then fails with "locked by
// another process" instead of hanging.
package bbolt

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/db/internal/linger"
	"github.com/mayfly-pki/mayfly/db/internal/reserve"
	"github.com/mayfly-pki/mayfly/db/internal/steplayout"
	"github.com/mayfly-pki/mayfly/internal/errs"

	"github.com/mayfly-pki/mayfly/internal/meter"
)

// Options configure Open.
type Options struct {
	// Path is the database file (ca.json db.dataSource). It is created 0600,
	// and its directory 0700, when missing; an existing file readable by
	// others is made 0600.
	Path string
	// LockTimeout bounds the wait for the file lock another process holds;
	// 0 means 1 s.
	LockTimeout time.Duration
	// MaxBatchDelay, if positive, makes the committer wait up to that long
	// after the first write of a batch for more writes (until MaxBatchSize)
	// before it commits. 0 (the default) does not wait: a batch is the
	// writes queued when the committer is free, which under load are those
	// that arrived during the previous commit.
	MaxBatchDelay time.Duration
	// MaxBatchSize bounds the writes committed in one transaction; 0 means
	// 1000 (bbolt's db.Batch default).
	MaxBatchSize int
	// CommitWindow bounds how long a batch waits for the writes of requests
	// announced through ExpectWrite (when MaxBatchDelay is 0): 0 means
	// linger.DefaultWindow, a negative value never waits.
	CommitWindow time.Duration
	// Meter receives each group commit's duration and batch size (nil: none).
	Meter meter.Commits
}

const (
	defaultLockTimeout  = time.Second
	defaultMaxBatchSize = 1000
	// opsQueue is the capacity of the committer's queue; writers block (and
	// honour their context) when it is full.
	opsQueue = 1024
)

// Store is a store.Store on a bbolt file.
//
// All methods are safe for concurrent use. Write methods return after their
// transaction committed (the file is synced); UseTokenOrdered returns once
// its write is queued. Reads see every write that has returned. After Close
// every method returns an error of kind errs.Unavailable.
type Store struct {
	path     string
	db       *bolt.DB
	maxBatch int
	meter    meter.Commits
	maxDelay time.Duration
	gate     *linger.Gate // announced writers; the committer lingers for them

	// mu guards closed and the send side of ops: readers and writers hold
	// it (read) while they use db or enqueue, Close (write) to shut down.
	mu     sync.RWMutex
	closed bool
	ops    chan *op
	done   chan struct{} // closed when the committer has exited

	// reserved holds used-token keys handed to the committer but not yet
	// committed. With the file (read while the set is locked) it decides
	// UseToken atomically without waiting for a commit.
	reserved *reserve.Set

	runs    atomic.Int64 // write functions run, re-runs included (tests)
	commits atomic.Int64 // batch transactions committed (tests)
}

var (
	_ store.Store              = (*Store)(nil)
	_ store.OrderedTokens      = (*Store)(nil)
	_ store.QueuedCertificates = (*Store)(nil)
	_ store.WriteHinter        = (*Store)(nil)
)

// Open opens (creating when missing) the bbolt file opts.Path, creates
// step-ca's authority buckets, and starts the committer goroutine that Close
// stops. A file locked by another process fails after
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
	// bolt.Open's mode applies to a new file only; one left wider before
	// is narrowed to its owner.
	if fi, err := os.Stat(opts.Path); err != nil || fi.Mode().Perm()&0o077 != 0 {
		if err == nil {
			err = os.Chmod(opts.Path, fi.Mode().Perm()&^0o077)
		}
		if err != nil {
			_ = db.Close()
			return nil, unavailable(fmt.Errorf("open bbolt database %s: restrict its mode to the owner: %w", opts.Path, err))
		}
	}
	if err := db.Update(createBuckets); err != nil {
		_ = db.Close()
		return nil, unavailable(fmt.Errorf("open bbolt database %s: create buckets: %w", opts.Path, err))
	}
	maxBatch := opts.MaxBatchSize
	if maxBatch <= 0 {
		maxBatch = defaultMaxBatchSize
	}
	s := &Store{
		path:     opts.Path,
		db:       db,
		maxBatch: maxBatch,
		meter:    meter.CommitsOr(opts.Meter),
		maxDelay: max(opts.MaxBatchDelay, 0),
		gate:     linger.New(opts.CommitWindow),
		ops:      make(chan *op, opsQueue),
		done:     make(chan struct{}),
		reserved: reserve.New(),
	}
	go s.run()
	return s, nil
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

// Close stops accepting work, commits every write already queued (their
// callers get their normal answers, a MaxBatchDelay wait is cut short),
// stops the committer, then closes the file and releases its lock. A second
// Close returns an error of kind errs.Unavailable.
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
