// Package mysql is the MySQL/MariaDB backend of the authority's storage port
// (store.Store), on database/sql with go-sql-driver/mysql.
//
// Schema. Real InnoDB tables with indexes, created by versioned migrations
// (schema.go): x509_certs (serial, der, data, not_after, subject,
// provisioner; indexed on not_after, provisioner and subject), used_ott
// (token_key, token, expires_at; indexed on expires_at) and
// revoked_x509_certs (one column per field of step-ca's revocation JSON). They keep the logical content of step-ca's
// tables of the same names (wire-spec §6.3), not its nkey/nvalue layout.
//
// Writes. UseToken and Revoke are INSERT ... ON DUPLICATE KEY UPDATE
// <key> = <key>, a no-op on a duplicate that reports 0 affected rows (the
// driver's clientFoundRows is forced off), so two CAs sharing the database
// can never both use a token or both revoke a serial. (INSERT IGNORE would
// do the same but also turn other errors, such as truncation, into
// warnings.) StoreCertificate is an upsert. A write returns after COMMIT:
// durable with InnoDB's default innodb_flush_log_at_trx_commit=1.
//
// Durable writes at low cost. By default each write is one autocommit
// statement on its own pooled connection: InnoDB already shares one redo log
// flush between transactions committing together (its group commit).
// Options.Committers > 0 selects batching (db/internal/sqlcommit) instead:
// writes are queued for that many goroutines; each takes every write
// waiting, sorts them by table and key (one lock order for every
// transaction of every CA, so batches cannot deadlock each other), runs
// them in one transaction and commits once. bench_test.go (BenchmarkDesign) compares both on MariaDB 10.11: on
// the 2-vCPU reference machine autocommit was 25-50% faster at 16 and 64
// writers while the machine was otherwise quiet, and about 20% slower than
// two committers while other work saturated its CPUs (a batch runs its
// statements one round trip after another on one connection).
//
// Failures. database/sql and the driver's liveness check replace
// connections the server closed while idle before a statement is sent, so a
// server restart is usually invisible. A connection lost after an
// autocommit statement (or a batch's COMMIT) was sent leaves the outcome
// unknown and fails the write; a batch whose connection broke before COMMIT
// is retried once (nothing was committed).
// Backend failures have kind errs.Unavailable and name the database as
// "mysql database host:port/name"; the DSN's password never appears.
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
package mysql

import (
	"cmp"
	"context"
	"database/sql"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/db/internal/sqlcommit"
	"github.com/mayfly-pki/mayfly/db/internal/sqlstore"

	"github.com/mayfly-pki/mayfly/internal/meter"
)

// Options configure Open.
type Options struct {
	// DataSource is a go-sql-driver DSN: user:password@tcp(host:3306)/db?params.
	// parseTime, loc (UTC) and clientFoundRows (off) are forced.
	DataSource string
	// Database, when set, replaces the DSN's database (ca.json db.database).
	// A missing database is created (unless ReadOnly), as step-ca does.
	Database string
	// ReadOnly opens the store for a replica: no database creation, no DDL
	// (the schema must be current), and every write fails with
	// errs.Unavailable.
	ReadOnly bool
	// MaxConns bounds the open connections; 0 means 16.
	MaxConns int
	// Committers, when positive, selects group commit: that many goroutines
	// each batch every waiting write into one transaction. 0 (the default)
	// runs each write as its own autocommit statement (see the package
	// comment for why).
	Committers int
	// MaxBatch bounds the writes in one transaction; 0 means 256.
	MaxBatch int
	// WriteTimeout bounds one batch transaction; 0 means 30 s.
	WriteTimeout time.Duration
	// Logger receives the driver's own log lines (connection errors it
	// recovers from). Nil discards them.
	Logger logrus.FieldLogger
	// Meter receives each commit's duration and batch size (nil: none).
	Meter meter.Commits
}

const (
	defaultMaxConns     = 16
	defaultMaxBatch     = 256
	defaultWriteTimeout = 30 * time.Second
	opsQueue            = 1024
)

// Store is a store.Store on a MySQL or MariaDB database.
//
// All methods are safe for concurrent use. Write methods return after their
// transaction committed; reads see every write that has returned, from this
// Store or any other sharing the database. After Close every method returns
// an error of kind errs.Unavailable.
type Store struct {
	db       sqlstore.DB // names the database in errors
	sqlDB    *sql.DB
	stmts    statements
	readOnly bool
	// w runs the writes (autocommit or group commit) and guards the
	// lifecycle: reads and writes hold off Close.
	w      *sqlcommit.Committer[*sql.Stmt]
	writer sqlstore.Writer[*sql.Stmt]
}

var (
	_ store.Store      = (*Store)(nil)
	_ store.Inventory  = (*Store)(nil)
	_ store.Maintainer = (*Store)(nil)
)

// Open connects to the database (creating it when missing), brings the
// schema up to date under a named lock (so CAs starting together do not
// race), prepares the statements and starts the committers that Close
// stops. ctx bounds everything Open does. Errors name the database and never
// contain the password; an unreachable server gives errs.Unavailable.
func Open(ctx context.Context, opts Options) (*Store, error) {
	cfg, err := driverConfig(opts)
	if err != nil {
		return nil, err
	}
	s := &Store{
		db: sqlstore.DB{
			Backend:   "mysql",
			Name:      cfg.Addr + "/" + cfg.DBName,
			Password:  cfg.Passwd,
			DataError: dataError,
		},
		readOnly: opts.ReadOnly,
	}
	maxConns := opts.MaxConns
	if maxConns <= 0 {
		maxConns = defaultMaxConns
	}
	if s.sqlDB, err = s.connect(ctx, cfg, opts.Logger); err != nil {
		return nil, err
	}
	s.sqlDB.SetMaxOpenConns(maxConns)
	s.sqlDB.SetMaxIdleConns(maxConns)
	if err := s.migrate(ctx, cfg.DBName); err != nil {
		s.sqlDB.Close()
		return nil, err
	}
	if err := s.prepare(ctx); err != nil {
		s.sqlDB.Close()
		return nil, err
	}
	d := dialect{s.db, s.sqlDB}
	s.w = sqlcommit.New[*sql.Stmt](d, sqlcommit.Options[*sql.Stmt]{
		Committers: max(opts.Committers, 0),
		Direct:     d,
		MaxBatch:   cmp.Or(max(opts.MaxBatch, 0), defaultMaxBatch),
		Timeout:    cmp.Or(max(opts.WriteTimeout, 0), defaultWriteTimeout),
		ReadOnly:   opts.ReadOnly,
		Queue:      opsQueue,
		Meter:      opts.Meter,
		Backend:    "mysql",
	})
	s.writer = sqlstore.Writer[*sql.Stmt]{C: s.w, UseToken: s.stmts.useToken, StoreCertificate: s.stmts.storeCertificate,
		Revoke: s.stmts.revoke, Serial: func(serial string) any { return []byte(serial) }}
	s.w.Start()
	return s, nil
}

// Close stops accepting work, waits for the writes in progress and commits
// every write already queued (their callers get their normal answers),
// stops the committers and closes the connections. A second Close returns
// an error of kind errs.Unavailable.
func (s *Store) Close() error {
	if err := s.w.Close(); err != nil {
		return err
	}
	s.stmts.close()
	if err := s.sqlDB.Close(); err != nil {
		return s.db.Fail("close", err)
	}
	return nil
}
