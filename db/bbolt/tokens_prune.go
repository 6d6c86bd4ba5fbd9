package bbolt

import (
	"bytes"
	"context"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/db/internal/steplayout"
)

var _ store.Maintainer = (*Store)(nil)

// usedTokenGrace is how long after its exp a used token's record is kept.
// The authority refuses a token once exp plus its one-minute leeway has
// passed, before it looks the token up, so the record of an expired token
// protects nothing; the grace covers clock adjustments. Same as badger.
const usedTokenGrace = 10 * time.Minute

// pruneBatch bounds the deletions of one write.
const pruneBatch = 1000

// Maintain implements store.Maintainer: it deletes the used_ott records of
// tokens whose exp is more than usedTokenGrace in the past, in writes of at
// most pruneBatch keys through the committer, until none is left or ctx
// ends. Records whose value is not a JWT with a numeric exp are kept. bbolt
// needs no other housekeeping (freed pages are reused; the file does not
// shrink). Safe to call concurrently with every method; after Close it
// returns an error of kind errs.Unavailable.
func (s *Store) Maintain(ctx context.Context) error {
	before := time.Now().Add(-usedTokenGrace)
	for {
		n, err := s.pruneUsedTokens(ctx, before, pruneBatch)
		if err != nil {
			return fmt.Errorf("bbolt database %s: prune used tokens: %w", s.path, err)
		}
		if n < pruneBatch {
			return nil
		}
	}
}

// pruneUsedTokens deletes up to limit used_ott records of tokens whose exp
// is before before and returns how many it picked. A key reserved by
// useToken but not committed is not in the file, so it is never picked.
func (s *Store) pruneUsedTokens(ctx context.Context, before time.Time, limit int) (int, error) {
	const what = "select expired used tokens"
	if err := ctxErr(ctx, what); err != nil {
		return 0, err
	}
	var keys [][]byte
	err := s.view(what, func(tx *bolt.Tx) error {
		keys = keys[:0]
		b, err := bucket(tx, steplayout.TableUsedOTT)
		if err != nil {
			return err
		}
		c := b.Cursor()
		for k, v := c.First(); k != nil && len(keys) < limit; k, v = c.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			if exp, ok := steplayout.TokenExpiry(v); ok && time.Unix(exp, 0).Before(before) {
				keys = append(keys, bytes.Clone(k))
			}
		}
		return nil
	})
	if err != nil || len(keys) == 0 {
		return 0, err
	}
	err = s.write(ctx, fmt.Sprintf("delete %d expired used tokens", len(keys)), func(tx *bolt.Tx) (error, error) {
		b, err := bucket(tx, steplayout.TableUsedOTT)
		if err != nil {
			return nil, err
		}
		for _, k := range keys {
			if err := b.Delete(k); err != nil {
				return nil, fmt.Errorf("table %s: %w", steplayout.TableUsedOTT, err)
			}
		}
		return nil, nil
	})
	if err != nil {
		return 0, err
	}
	return len(keys), nil
}
