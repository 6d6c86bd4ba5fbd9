// Package postgresql is the PostgreSQL backend of the authority's storage
// port (store.Store), on pgx/v5 (pgxpool).
//
// Schema. Real tables with indexes, created by versioned migrations (see
// schema.go): x509_certs (serial, der, data, not_after, subject, provisioner;
// indexed on not_after, provisioner and subject), used_ott (token_key, token,
// expires_at; indexed on expires_at) and revoked_x509_certs (one column per field of step-ca's revocation JSON).
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
// Group commit (db/internal/sqlcommit). Every write goes to a queue drained
// by Options.Committers goroutines; each takes every write waiting, sorts
// them by table and key (so that concurrent transactions, here or in another
// CA, lock rows in one order and cannot deadlock) and sends them as one
// pipelined transaction (BEGIN + all statements in one round trip), then
// COMMIT: one WAL flush for the whole batch. bench_test.go compares this with one autocommit
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
//
// Housekeeping. Maintain (store.Maintainer) deletes the used_ott rows of
// tokens that expired more than sqlstore.UsedTokenGrace ago, by their
// indexed expires_at column; rows written before schema version 2 have no
// expires_at and are kept. It also deletes the ACME nonces older than an
// hour, by the indexed nonces.created_at.
//
// ACME (acme.go). Since schema version 7 the ACME object tables are real
// tables: the key, step-ca's JSON and indexed columns extracted from it
// (db/internal/acmesql); step-ca's index tables stay key/value tables.
package postgresql

import (
	"cmp"
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/db/internal/sqlcommit"
	"github.com/mayfly-pki/mayfly/db/internal/sqlstore"

	"github.com/mayfly-pki/mayfly/internal/meter"
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
	// Meter receives each commit's duration and batch size (nil: none).
	Meter meter.Commits
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
	db       sqlstore.DB // names the database in errors
	pool     *pgxpool.Pool
	readOnly bool
	// w runs the writes (group commit) and guards the lifecycle: reads
	// and writes hold off Close.
	w      *sqlcommit.Committer[string]
	writer sqlstore.Writer[string]
}

var (
	_ store.Store      = (*Store)(nil)
	_ store.Inventory  = (*Store)(nil)
	_ store.Maintainer = (*Store)(nil)
)

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
		db: sqlstore.DB{
			Backend:      "postgresql",
			Name:         displayName(cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database),
			Password:     cfg.ConnConfig.Password,
			DataError:    dataError,
			ReadOnlyNote: " (hot standby)",
		},
		readOnly: opts.ReadOnly,
	}
	if s.pool, err = s.connect(ctx, cfg); err != nil {
		return nil, err
	}
	if err := s.migrate(ctx); err != nil {
		s.pool.Close()
		return nil, err
	}
	s.w = sqlcommit.New[string](dialect{s.db, s.pool}, sqlcommit.Options[string]{
		Committers: cmp.Or(max(opts.Committers, 0), defaultCommitters),
		MaxBatch:   cmp.Or(max(opts.MaxBatch, 0), defaultMaxBatch),
		Timeout:    cmp.Or(max(opts.WriteTimeout, 0), defaultWriteTimeout),
		ReadOnly:   opts.ReadOnly,
		Queue:      opsQueue,
		Meter:      opts.Meter,
		Backend:    "postgresql",
	})
	s.writer = sqlstore.Writer[string]{C: s.w, UseToken: sqlUseToken, StoreCertificate: sqlStoreCertificate,
		Revoke: sqlRevoke, Serial: func(serial string) any { return serial }}
	s.w.Start()
	return s, nil
}

// Close stops accepting work, commits every write already queued (their
// callers get their normal answers), stops the committers and closes the
// pool. A second Close returns an error of kind errs.Unavailable.
func (s *Store) Close() error {
	if err := s.w.Close(); err != nil {
		return err
	}
	s.pool.Close()
	return nil
}
