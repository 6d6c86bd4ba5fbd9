// Package postgresql is the PostgreSQL backend of the authority's storage
// port (store.Store), on pgx/v5 (pgxpool).
//
// Schema. Real tables with indexes, created by versioned migrations (see
// schema.go): x509_certs (serial, der, data, not_after, subject, provisioner;
// indexed on not_after, provisioner and subject), used_ott (token_key, token)
// and revoked_x509_certs (one column per field of step-ca's revocation JSON).
// They keep the logical content of step-ca's tables of the same names
// (wire-spec §6.3), not its generic nkey/nvalue layout, so step-ca data can be
// imported but a step-ca database cannot be used in place.
//
// Writes. UseToken and Revoke are INSERT ... ON CONFLICT DO NOTHING, whose
// affected-row count decides the outcome, so two CAs sharing one database
// can never both use a token or both revoke a serial. StoreCertificate is an
// upsert. A write returns after its transaction's COMMIT, so it is as durable
// as the server makes commits (synchronous_commit=on, the default, flushes
// the WAL first).
//
// Group commit. Every write goes to a queue drained by Options.Committers
// goroutines; each takes every write waiting, sorts them by table and key (so
// that concurrent transactions, here or in another CA, lock rows in one order
// and cannot deadlock) and sends them as one pipelined transaction
// (BEGIN + all statements in one round trip), then COMMIT: one WAL flush for
// the whole batch. bench_test.go compares this with one autocommit
// connection per writer; batching won at 16-64 writers (see defaultCommitters).
//
// Failures. A batch whose connection broke before COMMIT was sent is
// retried (twice at most) on a fresh connection after resetting the pool:
// nothing was committed, so this is safe, and a server that restarted is
// usually invisible to callers. A connection lost during COMMIT leaves the
// outcome unknown and fails the batch. Reads retry once the same way.
// Backend failures have kind errs.Unavailable (the API answers 503) and name
// the database as "postgresql database host:port/name"; the DSN's password
// never appears in an error.
package postgresql

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/internal/errs"
)

// Options configure Open.
type Options struct {
	// DataSource is a pgx connection string: a URL
	// (postgresql://user:password@host:5432/db?sslmode=disable) or key=value
	// pairs. pgxpool's pool_* parameters (pool_max_conns, ...) are honoured.
	DataSource string
	// Database, when set, replaces the DSN's database (ca.json db.database).
	// A missing database is created (unless ReadOnly), as step-ca does.
	Database string
	// ReadOnly opens the store for a hot standby: no database creation, no
	// DDL (the schema must already be current), and every write fails with
	// errs.Unavailable.
	ReadOnly bool
	// Committers is the number of transactions committing writes at once; 0
	// means defaultCommitters.
	Committers int
	// MaxBatch bounds the writes in one transaction; 0 means defaultMaxBatch.
	MaxBatch int
	// WriteTimeout bounds one batch transaction, connecting included; 0
	// means 30 s.
	WriteTimeout time.Duration
}

const (
	// defaultCommitters: on the 2-vCPU reference machine (BenchmarkDesign)
	// one committer batching every waiting write was 2x faster than one
	// autocommit connection per writer at 16 writers and over 100x at 64
	// (64 server processes thrash 2 CPUs), and as fast as or faster than 2
	// and 4 committers.
	defaultCommitters   = 1
	defaultMaxBatch     = 256
	defaultWriteTimeout = 30 * time.Second
	// opsQueue is the capacity of the committers' queue; writers block (and
	// honour their context) when it is full.
	opsQueue = 1024
)

// Store is a store.Store on a PostgreSQL database.
//
// All methods are safe for concurrent use. Write methods return after their
// transaction committed; reads see every write that has returned, from this
// Store or any other sharing the database. After Close every method returns
// an error of kind errs.Unavailable.
type Store struct {
	name     string // host:port/database, for messages
	password string // redacted from every error text
	pool     *pgxpool.Pool
	readOnly bool
	maxBatch int
	timeout  time.Duration

	// mu guards closed and the send side of ops: writers hold it (read)
	// while enqueueing, Close (write) to shut down.
	mu      sync.RWMutex
	closed  bool
	ops     chan *op
	workers sync.WaitGroup

	commits atomic.Int64 // transactions committed (read by tests and benchmarks)
}

var _ store.Store = (*Store)(nil)

// Open connects to the database (creating it when missing), brings the
// schema up to date under an advisory lock (so CAs starting together do not
// race), and starts the committers that Close stops. ctx bounds everything
// Open does. Errors name the database and never contain the DSN's password;
// a server that cannot be reached gives an error of kind errs.Unavailable.
func Open(ctx context.Context, opts Options) (*Store, error) {
	cfg, err := poolConfig(opts)
	if err != nil {
		return nil, err
	}
	s := &Store{
		name:     displayName(cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database),
		password: cfg.ConnConfig.Password,
		readOnly: opts.ReadOnly,
		maxBatch: opts.MaxBatch,
		timeout:  opts.WriteTimeout,
		ops:      make(chan *op, opsQueue),
	}
	if s.maxBatch <= 0 {
		s.maxBatch = defaultMaxBatch
	}
	if s.timeout <= 0 {
		s.timeout = defaultWriteTimeout
	}
	if s.pool, err = s.connect(ctx, cfg); err != nil {
		return nil, err
	}
	if err := s.migrate(ctx); err != nil {
		s.pool.Close()
		return nil, err
	}
	committers := opts.Committers
	if committers <= 0 {
		committers = defaultCommitters
	}
	for range committers {
		s.workers.Add(1)
		go s.run()
	}
	return s, nil
}

// Close stops accepting work, commits every write already queued (their
// callers get their normal answers), stops the committers and closes the
// pool. A second Close returns an error of kind errs.Unavailable.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return s.errClosed()
	}
	s.closed = true
	close(s.ops)
	s.mu.Unlock()
	s.workers.Wait()
	s.pool.Close()
	return nil
}

func (s *Store) errClosed() error {
	return errs.E(errs.Unavailable, "database closed", fmt.Errorf("postgresql database %s is closed", s.name))
}

func (s *Store) errReadOnly(what string) error {
	return errs.E(errs.Unavailable, "database is read-only",
		fmt.Errorf("postgresql database %s: %s: the store was opened read-only (hot standby)", s.name, what))
}

// isClosed reports whether Close has begun.
func (s *Store) isClosed() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.closed
}

// ctxErr returns ctx's error wrapped with what, or nil.
func ctxErr(ctx context.Context, what string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}
