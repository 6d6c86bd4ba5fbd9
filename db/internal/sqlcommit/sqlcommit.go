// Package sqlcommit is the write path and the lifecycle shared by the SQL
// stores (db/postgresql, db/mysql).
//
// Writes are Ops queued for committer goroutines. Each committer takes the
// first waiting op and every op queued behind it (up to MaxBatch), sorts
// them by table and key, runs them in one transaction and commits once
// (group commit): one log flush for the whole batch. A batch whose
// transaction fails on a statement is rerun op by op, each in its own
// transaction, so that only the faulty write fails. Transactions are
// retried when that is safe: after a connection lost before COMMIT was sent
// (nothing was committed) and after a deadlock or serialization failure
// (the server rolled the transaction back).
//
// What differs between servers (how a transaction is begun and its
// statements sent, which errors mean what, how errors name the database) is
// the backend's Dialect. A backend may instead run each write as its own
// autocommit statement (Options.Direct, used by MySQL by default).
//
// The Committer also owns the store's lifecycle: Close waits for the writes
// and reads in progress, and every later call fails with the Dialect's
// Closed error.
package sqlcommit

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mayfly-pki/mayfly/internal/meter"
)

// Op is one write. S is the backend's statement type (SQL text for pgx, a
// prepared *sql.Stmt for database/sql).
type Op[S any] struct {
	What  string // "use token", "store certificate <serial>", ...: for messages
	Table string // Table and Key order the batch (see CommitBatch)
	Key   string
	Stmt  S
	Args  []any
	// Conflict, when set, is the outcome if the statement affects no row
	// (insert-if-absent); it is only reported once the batch commits.
	Conflict error
	// Rows is the number of rows the statement affected, set by each
	// attempt: read it after Submit returned nil.
	Rows int64

	done    chan error // buffered 1; receives exactly one answer
	outcome error      // set by each transaction attempt
}

// NewOp returns an op ready for CommitBatch (Submit prepares its ops
// itself). Tests use it to hand the committer a batch of their own.
func NewOp[S any](o Op[S]) *Op[S] {
	o.done = make(chan error, 1)
	return &o
}

// Answer returns o's answer once CommitBatch gave it.
func (o *Op[S]) Answer() error { return <-o.done }

// Dialect is what the committer needs from a backend. Its methods are
// called from several goroutines at once.
type Dialect[S any] interface {
	// Begin starts a transaction on a connection of the pool. lost reports
	// that the connection broke or none could be had (the attempt may be
	// retried after Reset).
	Begin(ctx context.Context) (tx Tx[S], lost bool, err error)
	// Retryable reports whether a transaction that failed with err on a
	// working connection was rolled back by the server and may simply be
	// run again (a deadlock, a serialization failure, a lock wait timeout).
	Retryable(err error) bool
	// Reset runs before a transaction whose connection was lost is retried
	// (PostgreSQL resets its pool: a server restart breaks every
	// connection).
	Reset()
	// Fail wraps a backend error of operation what: one line naming the
	// database, classified (errs.Unavailable unless the server refused the
	// data).
	Fail(what string, err error) error
	// Closed is the error of every call after Close.
	Closed() error
	// ReadOnly is the error of a write (what) to a read-only store.
	ReadOnly(what string) error
}

// Tx is one transaction attempt. The committer calls Exec, then Commit, or
// Rollback if Exec failed, then Release.
type Tx[S any] interface {
	// Exec runs the statements of ops in order and stores the number of
	// rows each affected in rows[i]. After an error the transaction only
	// gets a Rollback.
	Exec(ctx context.Context, ops []*Op[S], rows []int64) error
	Commit(ctx context.Context) error
	// Rollback ends a transaction whose Exec failed (its connection may be
	// broken: the error is of no use and is dropped).
	Rollback(ctx context.Context)
	// Lost reports whether err, returned by Exec or Commit, means the
	// connection broke.
	Lost(err error) bool
	// Release returns the connection to the pool.
	Release()
}

// Direct runs each write as one autocommit statement, instead of queueing
// it for committers.
type Direct[S any] interface {
	// ExecOne runs o's statement on a pooled connection and returns the
	// number of rows it affected.
	ExecOne(ctx context.Context, o *Op[S]) (int64, error)
	// ConnectionLost reports whether err means the connection broke under
	// the statement (or none could be had).
	ConnectionLost(err error) bool
}

// Options configure a Committer.
type Options[S any] struct {
	// Committers is the number of goroutines committing batches. With
	// Direct set, 0 runs every write through Direct instead; without it, 0
	// means 1.
	Committers int
	Direct     Direct[S]
	// MaxBatch bounds the ops of one transaction; 0 means 256.
	MaxBatch int
	// Timeout bounds one batch (its transaction, retries and the op by op
	// rerun included); 0 means 30 s.
	Timeout time.Duration
	// ReadOnly refuses every write with the Dialect's ReadOnly error.
	ReadOnly bool
	// Queue is the capacity of the committers' queue (writers block, and
	// honour their context, when it is full); 0 means 1024.
	Queue int
	// Meter receives each commit's duration and batch size under Backend
	// (nil: none).
	Meter   meter.Commits
	Backend string
}

// Committer batches writes into transactions and guards the store's
// lifecycle. Its methods are safe for concurrent use.
type Committer[S any] struct {
	d          Dialect[S]
	direct     Direct[S]
	committers int
	maxBatch   int
	timeout    time.Duration
	readOnly   bool
	meter      meter.Commits
	backend    string

	// mu guards closed and the send side of ops: writers and readers hold
	// it (read) while enqueueing or running a statement, Close (write) to
	// shut down.
	mu      sync.RWMutex
	closed  bool
	ops     chan *Op[S] // nil when every write runs through direct
	workers sync.WaitGroup

	commits atomic.Int64
}

// New returns a committer; Start starts its goroutines.
func New[S any](d Dialect[S], o Options[S]) *Committer[S] {
	c := &Committer[S]{
		d: d, direct: o.Direct, committers: o.Committers, maxBatch: cmp.Or(max(o.MaxBatch, 0), 256),
		timeout: cmp.Or(max(o.Timeout, 0), 30*time.Second), readOnly: o.ReadOnly,
		meter: o.Meter, backend: o.Backend,
	}
	if c.meter == nil {
		c.meter = meter.Nop{}
	}
	if c.direct == nil && c.committers <= 0 {
		c.committers = 1
	}
	if c.committers > 0 {
		c.ops = make(chan *Op[S], cmp.Or(max(o.Queue, 0), 1024))
	}
	return c
}

// Start starts the committer goroutines; Close stops them.
func (c *Committer[S]) Start() {
	for range c.committers {
		c.workers.Add(1)
		go c.run()
	}
}

// Commits returns the number of transactions (or autocommit statements)
// committed so far; tests and benchmarks compare it with the writes made.
func (c *Committer[S]) Commits() int64 { return c.commits.Load() }

// Close stops accepting work, commits every write already queued (their
// callers get their normal answers), waits for the reads and autocommit
// writes in progress and stops the committers. A second Close returns the
// Dialect's Closed error.
func (c *Committer[S]) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return c.d.Closed()
	}
	c.closed = true
	if c.ops != nil {
		close(c.ops)
	}
	c.mu.Unlock()
	c.workers.Wait()
	return nil
}

// Read runs fn unless the store is closed, holding off Close until fn
// returns. It returns fn's error, or the Dialect's Closed error.
func (c *Committer[S]) Read(fn func() error) error {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return c.d.Closed()
	}
	return fn()
}

// Submit runs o (through the committers or Direct) and returns its answer:
// nil, o.Conflict, or a backend error wrapped by Fail. A ctx that ends
// first returns ctx's error; the write may still be committed.
func (c *Committer[S]) Submit(ctx context.Context, o *Op[S]) error {
	c.mu.RLock()
	if c.closed {
		c.mu.RUnlock()
		return c.d.Closed()
	}
	if c.readOnly {
		c.mu.RUnlock()
		return c.d.ReadOnly(o.What)
	}
	if c.ops == nil {
		defer c.mu.RUnlock()
		return c.exec(ctx, o)
	}
	o.done = make(chan error, 1)
	select {
	case c.ops <- o:
		c.mu.RUnlock()
	case <-ctx.Done():
		c.mu.RUnlock()
		return fmt.Errorf("%s: %w", o.What, ctx.Err())
	}
	select {
	case err := <-o.done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("%s: %w (the write may still complete)", o.What, ctx.Err())
	}
}

// Delete submits a statement that deletes rows of table (what names it in
// messages) and returns how many it deleted.
func (c *Committer[S]) Delete(ctx context.Context, what, table string, stmt S, args ...any) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	o := &Op[S]{What: what, Table: table, Stmt: stmt, Args: args}
	if err := c.Submit(ctx, o); err != nil {
		return 0, err
	}
	return int(o.Rows), nil
}

// exec runs o as one autocommit statement. A deadlock (the server rolled
// the statement back) is retried; so is a connection that broke under the
// statement (a server restart or KILL that the driver's liveness check did
// not see). An upsert is idempotent, so retrying it is exact; for an
// insert-if-absent (o.Conflict), a conflict seen only on a retry may be the
// first attempt's own row, so it is reported as an unknown outcome (through
// Fail), never as the conflict.
func (c *Committer[S]) exec(ctx context.Context, o *Op[S]) error {
	var err error
	lost := false
	for range 3 {
		var n int64
		start := time.Now()
		n, err = c.direct.ExecOne(ctx, o)
		c.meter.Commit(c.backend, time.Since(start), 1)
		if err == nil {
			c.commits.Add(1)
			o.Rows = n
			if o.Conflict != nil && n == 0 {
				if lost {
					return c.d.Fail(o.What, errors.New("outcome unknown: the connection was lost during a first attempt"))
				}
				return o.Conflict
			}
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%s: %w (the write may still complete)", o.What, ctx.Err())
		}
		switch {
		case c.d.Retryable(err):
		case c.direct.ConnectionLost(err):
			lost = true
		default:
			return c.d.Fail(o.What, err)
		}
	}
	return c.d.Fail(o.What, err)
}

// run is one committer: it takes the first waiting op, adds every op
// queued behind it (up to maxBatch), commits them together, answers them,
// and repeats until Close closes the queue and it is drained.
func (c *Committer[S]) run() {
	defer c.workers.Done()
	batch := make([]*Op[S], 0, c.maxBatch)
	for o := range c.ops {
		batch = append(batch[:0], o)
	fill:
		for len(batch) < c.maxBatch {
			select {
			case o, ok := <-c.ops:
				if !ok {
					break fill
				}
				batch = append(batch, o)
			default:
				break fill
			}
		}
		start := time.Now()
		n := len(batch)
		c.CommitBatch(batch)
		c.meter.Commit(c.backend, time.Since(start), n)
		clear(batch)
	}
}

// CommitBatch writes batch in one transaction and answers every op (see
// NewOp and Answer). The ops are sorted by table and key (stable, so two
// writes of one key keep their order): every transaction of every CA then
// takes its row locks in the same order, so batches cannot deadlock one
// another. If a statement fails (the transaction is rolled back), each op is
// retried in a transaction of its own so that only the faulty one fails.
func (c *Committer[S]) CommitBatch(batch []*Op[S]) {
	slices.SortStableFunc(batch, func(a, b *Op[S]) int {
		return cmp.Or(strings.Compare(a.Table, b.Table), strings.Compare(a.Key, b.Key))
	})
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	a := c.commitTx(ctx, batch)
	if a.err != nil && !a.lost && len(batch) > 1 && ctx.Err() == nil {
		for _, o := range batch {
			one := []*Op[S]{o}
			c.answer(one, c.commitTx(ctx, one))
		}
		return
	}
	c.answer(batch, a)
}

// attempt is the result of one transaction.
type attempt struct {
	err  error
	lost bool // the connection broke (or none could be had)
	sent bool // COMMIT was sent: with lost, the outcome is unknown
}

// commitTx runs ops in one transaction, retrying (three attempts in all)
// after a connection lost before COMMIT was sent (Reset first) and after a
// transaction the server rolled back (Retryable).
func (c *Committer[S]) commitTx(ctx context.Context, ops []*Op[S]) attempt {
	var a attempt
	for range 3 {
		a = c.tryCommit(ctx, ops)
		switch {
		case a.err == nil, ctx.Err() != nil:
			return a
		case a.lost && !a.sent:
			c.d.Reset()
		case !a.lost && c.d.Retryable(a.err):
		default:
			return a
		}
	}
	return a
}

// tryCommit runs every statement in one transaction, reads the
// affected-row counts into the ops' outcomes, then commits.
func (c *Committer[S]) tryCommit(ctx context.Context, ops []*Op[S]) attempt {
	tx, lost, err := c.d.Begin(ctx)
	if err != nil {
		return attempt{err: err, lost: lost}
	}
	defer tx.Release()
	rows := make([]int64, len(ops))
	if err := tx.Exec(ctx, ops, rows); err != nil {
		lost := tx.Lost(err)
		tx.Rollback(ctx)
		return attempt{err: err, lost: lost}
	}
	for i, o := range ops {
		o.outcome, o.Rows = nil, rows[i]
		if o.Conflict != nil && rows[i] == 0 {
			o.outcome = o.Conflict
		}
	}
	c.commits.Add(1)
	if err := tx.Commit(ctx); err != nil {
		lost := tx.Lost(err)
		if lost {
			err = fmt.Errorf("commit (outcome unknown, the connection was lost): %w", err)
		}
		return attempt{err: err, lost: lost, sent: true}
	}
	return attempt{}
}

// answer sends every op its outcome, or a's failure.
func (c *Committer[S]) answer(ops []*Op[S], a attempt) {
	for _, o := range ops {
		if a.err == nil {
			o.done <- o.outcome
			continue
		}
		o.done <- c.d.Fail(o.What, a.err)
	}
}
