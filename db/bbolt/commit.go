package bbolt

import (
	"context"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/mayfly-pki/mayfly/db/internal/linger"
)

// op is one write waiting for the committer.
type op struct {
	what  string    // "use token", "store certificate 12", "revoke 12": for messages
	apply writeFunc // runs on the committer inside the batch transaction
	done  chan error
	// waited: a caller blocks on done (UseToken, submit), as opposed to
	// UseTokenOrdered; the committer's linger.Gate counts these.
	waited bool

	outcome error // set by the committed run, sent once the batch is durable
	// committed, if set, runs on the committer once the op's write is durable.
	committed func()
}

// errRollback makes db.Update roll back a batch in which one op failed.
var errRollback = errors.New("batch rolled back")

// submit hands o to the committer and waits for its answer. A ctx that ends
// first returns ctx's error; the write may still be applied.
func (s *Store) submit(ctx context.Context, o *op) error {
	o.waited = true
	s.mu.RLock()
	err := s.enqueueLocked(ctx, o)
	s.mu.RUnlock()
	if err != nil {
		return err
	}
	select {
	case err := <-o.done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("%s: %w (the write may still complete)", o.what, ctx.Err())
	}
}

// enqueueLocked hands o to the committer without waiting for it to be
// applied. The caller holds s.mu (read), which keeps Close from closing the
// queue meanwhile.
func (s *Store) enqueueLocked(ctx context.Context, o *op) error {
	o.done = make(chan error, 1)
	if s.closed {
		return s.errClosed()
	}
	select {
	case s.ops <- o:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%s: %w", o.what, ctx.Err())
	}
}

// run is the committer: it takes the first waiting op, adds the ops queued
// behind it (up to maxBatch, waiting up to maxDelay for more when maxDelay
// is set), commits them in one transaction, answers them, and repeats until
// Close closes the queue and it is drained.
func (s *Store) run() {
	defer close(s.done)
	batch := make([]*op, 0, s.maxBatch)
	for o := range s.ops {
		batch = s.fill(append(batch[:0], o))
		start := time.Now()
		s.commit(batch)
		s.meter.Commit("bbolt", time.Since(start), len(batch))
		clear(batch)
	}
}

// fill adds queued ops to batch: those already waiting, then, when maxDelay
// is set, those arriving within maxDelay of the first, until batch holds
// maxBatch ops or the queue is closed. Without maxDelay, it waits (up to the
// commit window) only for the writes of requests announced by ExpectWrite.
func (s *Store) fill(batch []*op) []*op {
	if s.maxDelay <= 0 {
		return linger.Fill(s.gate, s.ops, batch, s.maxBatch, opWaited)
	}
	var timeout <-chan time.Time
	if s.maxDelay > 0 {
		timer := time.NewTimer(s.maxDelay)
		defer timer.Stop()
		timeout = timer.C
	}
	for len(batch) < s.maxBatch {
		var (
			o  *op
			ok bool
		)
		if timeout == nil {
			select {
			case o, ok = <-s.ops:
			default:
				return batch
			}
		} else {
			select {
			case o, ok = <-s.ops:
			case <-timeout:
				return batch
			}
		}
		if !ok {
			return batch
		}
		batch = append(batch, o)
	}
	return batch
}

// commit applies batch, in order, in one bolt transaction (one commit, one
// sync) and answers every op once it is durable. An op whose write fails
// (not an outcome such as ErrTokenUsed: a failure of bbolt) gets its error,
// and the transaction is rolled back and the rest of the batch run again in
// a fresh one, so every outcome comes from the run that commits. If the
// commit fails, every op of the batch gets the error.
func (s *Store) commit(batch []*op) {
	for len(batch) > 0 {
		failed, failure := -1, error(nil)
		err := s.db.Update(func(tx *bolt.Tx) error {
			for i, o := range batch {
				s.runs.Add(1)
				outcome, err := o.apply(tx)
				if err != nil {
					failed, failure = i, err
					return errRollback
				}
				o.outcome = outcome
			}
			return nil
		})
		if failed >= 0 {
			o := batch[failed]
			o.done <- unavailable(fmt.Errorf("bbolt database %s: %s: %w", s.path, o.what, failure))
			batch = append(batch[:failed:failed], batch[failed+1:]...)
			continue
		}
		if err != nil {
			for _, o := range batch {
				o.done <- unavailable(fmt.Errorf("bbolt database %s: %s: commit: %w", s.path, o.what, err))
			}
			return
		}
		s.commits.Add(1)
		for _, o := range batch {
			if o.committed != nil {
				o.committed()
			}
			o.done <- o.outcome
		}
		return
	}
}

func opWaited(o *op) bool { return o.waited }

// ExpectWrite implements store.WriteHinter: without MaxBatchDelay, the
// committer holds a batch open (up to Options.CommitWindow) while announced
// requests have not queued their write.
func (s *Store) ExpectWrite() func() { return s.gate.Expect() }
