package mysql

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// op is one write waiting for a committer.
type op struct {
	what  string // "use token", "store certificate <serial>", ...: for messages
	table string // table and key order the batch (see commit)
	key   string
	stmt  *sql.Stmt
	args  []any
	// conflict, when set, is the outcome if the statement affects no row
	// (insert-if-absent); it is only reported once the batch commits.
	conflict error
	done     chan error // buffered 1; receives exactly one answer

	outcome error // set by each transaction attempt
	rows    int64 // rows affected, set by each attempt; read after submit returned nil
}

// submit runs o as an autocommit statement or, with committers, hands it
// to them and waits for its answer. A ctx that ends first returns ctx's
// error; the write may still be committed.
func (s *Store) submit(ctx context.Context, o *op) error {
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return s.errClosed()
	}
	if s.readOnly {
		s.mu.RUnlock()
		return s.errReadOnly(o.what)
	}
	if s.ops == nil {
		defer s.mu.RUnlock()
		return s.exec(ctx, o)
	}
	o.done = make(chan error, 1)
	select {
	case s.ops <- o:
		s.mu.RUnlock()
	case <-ctx.Done():
		s.mu.RUnlock()
		return fmt.Errorf("%s: %w", o.what, ctx.Err())
	}
	select {
	case err := <-o.done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("%s: %w (the write may still complete)", o.what, ctx.Err())
	}
}

// exec runs o as one autocommit statement. A deadlock (the server rolled
// the statement back) is retried; so is a connection that broke under the
// statement (a server restart or KILL that the driver's liveness check did
// not see). An upsert is idempotent, so retrying it is exact; for an
// insert-if-absent (o.conflict), a conflict seen only on a retry may be the
// first attempt's own row, so it is reported as an unknown outcome
// (errs.Unavailable through fail), never as "already used".
func (s *Store) exec(ctx context.Context, o *op) error {
	var err error
	lost := false
	for range 3 {
		var res sql.Result
		res, err = o.stmt.ExecContext(ctx, o.args...)
		var n int64
		if err == nil {
			n, err = res.RowsAffected()
		}
		if err == nil {
			s.commits.Add(1)
			o.rows = n
			if o.conflict != nil && n == 0 {
				if lost {
					return s.fail(o.what, errors.New("outcome unknown: the connection was lost during a first attempt"))
				}
				return o.conflict
			}
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%s: %w (the write may still complete)", o.what, ctx.Err())
		}
		switch {
		case retryable(err):
		case connectionLost(err):
			lost = true
		default:
			return s.fail(o.what, err)
		}
	}
	return s.fail(o.what, err)
}

// run is one committer: it takes the first waiting op, adds every op
// queued behind it (up to maxBatch), commits them together, answers them,
// and repeats until Close closes the queue and it is drained.
func (s *Store) run() {
	defer s.workers.Done()
	batch := make([]*op, 0, s.maxBatch)
	for o := range s.ops {
		batch = append(batch[:0], o)
	fill:
		for len(batch) < s.maxBatch {
			select {
			case o, ok := <-s.ops:
				if !ok {
					break fill
				}
				batch = append(batch, o)
			default:
				break fill
			}
		}
		s.commit(batch)
		clear(batch)
	}
}

// commit writes batch in one transaction and answers every op. The ops are
// sorted by table and key (stable, so two writes of one key keep their
// order): every transaction of every CA then takes its row locks in the
// same order. If a statement fails (the transaction is rolled back), each
// op is retried in a transaction of its own so that only the faulty one
// fails.
func (s *Store) commit(batch []*op) {
	slices.SortStableFunc(batch, func(a, b *op) int {
		return cmp.Or(strings.Compare(a.table, b.table), strings.Compare(a.key, b.key))
	})
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	a := s.commitTx(ctx, batch)
	if a.err != nil && !a.lost && len(batch) > 1 && ctx.Err() == nil {
		for _, o := range batch {
			one := []*op{o}
			s.answer(one, s.commitTx(ctx, one))
		}
		return
	}
	s.answer(batch, a)
}

// attempt is the result of one transaction.
type attempt struct {
	err  error
	lost bool // the connection broke (or none could be had)
	sent bool // COMMIT was sent: with lost, the outcome is unknown
}

// commitTx runs ops in one transaction, retrying when that is safe: after a
// connection lost before COMMIT was sent, and after a deadlock or lock wait
// timeout (the server rolled the transaction back).
func (s *Store) commitTx(ctx context.Context, ops []*op) attempt {
	var a attempt
	for range 3 {
		a = s.tryCommit(ctx, ops)
		switch {
		case a.err == nil, ctx.Err() != nil:
			return a
		case a.lost && !a.sent:
		case !a.lost && retryable(a.err):
		default:
			return a
		}
	}
	return a
}

// tryCommit runs every statement in one transaction, reads the
// affected-row counts into the ops' outcomes, then commits.
func (s *Store) tryCommit(ctx context.Context, ops []*op) attempt {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return attempt{err: fmt.Errorf("begin: %w", err), lost: connectionLost(err)}
	}
	for _, o := range ops {
		res, err := tx.StmtContext(ctx, o.stmt).ExecContext(ctx, o.args...)
		var n int64
		if err == nil {
			n, err = res.RowsAffected()
		}
		if err != nil {
			_ = tx.Rollback()
			return attempt{err: err, lost: connectionLost(err)}
		}
		o.outcome, o.rows = nil, n
		if o.conflict != nil && n == 0 {
			o.outcome = o.conflict
		}
	}
	s.commits.Add(1)
	if err := tx.Commit(); err != nil {
		lost := connectionLost(err)
		if lost {
			err = fmt.Errorf("commit (outcome unknown, the connection was lost): %w", err)
		}
		return attempt{err: err, lost: lost, sent: true}
	}
	return attempt{}
}

// answer sends every op its outcome, or a's failure.
func (s *Store) answer(ops []*op, a attempt) {
	for _, o := range ops {
		if a.err == nil {
			o.done <- o.outcome
			continue
		}
		o.done <- s.fail(o.what, a.err)
	}
}
