package acmekv

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/mayfly-pki/mayfly/authority/store"
)

// SQLTx is what a SQL backend gives RunSQL for one transaction attempt.
type SQLTx struct {
	// Get reads table[key] with a row lock (SELECT ... FOR UPDATE); found
	// is false for an absent row.
	Get func(ctx context.Context, table, key string) (value []byte, found bool, err error)
	// Put upserts, Delete removes.
	Put    func(ctx context.Context, table, key string, value []byte) error
	Delete func(ctx context.Context, table, key string) error
	// WriteAll, if set, applies every write (Value nil: a delete) in one
	// round trip (a pipeline), instead of a Put or Delete each.
	WriteAll func(ctx context.Context, writes []Write) error
}

// MaxAttempts bounds the retries of a transaction the database aborted to
// keep transactions serializable (serialization failure, deadlock); each
// retry first waits a random time up to attempt × 2 ms, so contending
// transactions spread out.
const MaxAttempts = 50

// RunSQL runs fn in transactions begun by begin until one commits, fn
// fails, or a non-retryable error occurs. begin runs attempt in a database
// transaction and commits it when attempt returns nil; retryable says
// whether a database error is a serialization failure or deadlock.
func RunSQL(ctx context.Context, fn func(tx store.ACMETx) error,
	begin func(ctx context.Context, attempt func(SQLTx) error) error, retryable func(error) bool) error {
	errFn := errors.New("acme transaction function failed")
	var last error
	for attempt := range MaxAttempts {
		if attempt > 0 {
			wait := time.Duration(rand.Int64N(int64(attempt)*int64(2*time.Millisecond)) + 1)
			select {
			case <-time.After(wait):
			case <-ctx.Done():
				return fmt.Errorf("acme update: %w (after %v)", ctx.Err(), last)
			}
		}
		var fnErr error
		err := begin(ctx, func(stx SQLTx) error {
			var readErr error
			tx := &Tx{Read: func(table, key string) ([]byte, error) {
				v, found, err := stx.Get(ctx, table, key)
				if err != nil {
					if readErr == nil {
						readErr = err
					}
					return nil, fmt.Errorf("table %s: %w", table, err)
				}
				if !found {
					return nil, NotFound(table, key)
				}
				return v, nil
			}}
			fnErr = fn(tx)
			if readErr != nil {
				return readErr // a database failure (maybe retryable) decides
			}
			if fnErr != nil {
				return errFn
			}
			writes, err := tx.Writes()
			if err != nil {
				fnErr = err
				return errFn
			}
			if stx.WriteAll != nil && len(writes) > 1 {
				return stx.WriteAll(ctx, writes)
			}
			for _, w := range writes {
				if w.Value == nil {
					err = stx.Delete(ctx, w.Table, w.Key)
				} else {
					err = stx.Put(ctx, w.Table, w.Key, w.Value)
				}
				if err != nil {
					return err
				}
			}
			return nil
		})
		switch {
		case err == nil:
			return nil
		case errors.Is(err, errFn):
			return fnErr
		case retryable(err) && ctx.Err() == nil:
			last = err
			continue
		default:
			return err
		}
	}
	return fmt.Errorf("acme update: gave up after %d serialization failures: %w", MaxAttempts, last)
}
