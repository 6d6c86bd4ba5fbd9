package postgresql

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
)

// op is one write waiting for a committer.
type op struct {
	what  string // "use token", "store certificate <serial>", ...: for messages
	table string // table and key order the batch (see commit)
	key   string
	sql   string
	args  []any
	// conflict, when set, is the outcome if the statement affects no row
	// (insert-if-absent); it is only reported once the batch commits.
	conflict error
	done     chan error // buffered 1; receives exactly one answer

	outcome error // set by each transaction attempt
	rows    int64 // rows affected, set by each transaction attempt; read after done answers nil
}

// submit hands o to the committers and waits for its answer. A ctx that
// ends first returns ctx's error; the write may still be committed.
func (s *Store) submit(ctx context.Context, o *op) error {
	o.done = make(chan error, 1)
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return s.errClosed()
	}
	if s.readOnly {
		s.mu.RUnlock()
		return s.errReadOnly(o.what)
	}
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
// same order, so batches cannot deadlock one another. If a statement fails
// (the transaction is rolled back), each op is retried in a transaction of
// its own so that only the faulty one fails.
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
// connection lost before COMMIT was sent (the pool is reset first, since a
// server restart breaks every connection) and after a deadlock or
// serialization failure (the transaction was rolled back).
func (s *Store) commitTx(ctx context.Context, ops []*op) attempt {
	var a attempt
	for range 3 {
		a = s.tryCommit(ctx, ops)
		switch {
		case a.err == nil, ctx.Err() != nil:
			return a
		case a.lost && !a.sent:
			s.pool.Reset()
		case !a.lost && retryable(a.err):
		default:
			return a
		}
	}
	return a
}

// tryCommit sends BEGIN and every statement in one round trip, reads the
// affected-row counts into the ops' outcomes, then commits.
func (s *Store) tryCommit(ctx context.Context, ops []*op) attempt {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return attempt{err: fmt.Errorf("connect: %w", err), lost: true}
	}
	defer conn.Release()
	b := &pgx.Batch{}
	b.BeginTx(pgx.TxOptions{})
	for _, o := range ops {
		b.Queue(o.sql, o.args...)
	}
	br := conn.SendBatch(ctx, b)
	_, err = br.Exec() // BEGIN
	for i := 0; i < len(ops) && err == nil; i++ {
		o := ops[i]
		tag, execErr := br.Exec()
		if execErr != nil {
			err = execErr
			break
		}
		o.outcome, o.rows = nil, tag.RowsAffected()
		if o.conflict != nil && tag.RowsAffected() == 0 {
			o.outcome = o.conflict
		}
	}
	if closeErr := br.Close(); err == nil {
		err = closeErr
	}
	tx := br.Tx()
	if err != nil {
		if !conn.Conn().IsClosed() {
			_ = tx.Rollback(ctx)
		}
		return attempt{err: err, lost: conn.Conn().IsClosed()}
	}
	s.commits.Add(1)
	if err := tx.Commit(ctx); err != nil {
		lost := conn.Conn().IsClosed()
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
