package badger

import (
	"bytes"
	"context"
	"fmt"
	"time"

	badgerdb "github.com/dgraph-io/badger/v4"

	"github.com/mayfly-pki/mayfly/db/internal/steplayout"
)

// usedTokenGrace is how long after its exp a used token's record is kept.
// The authority refuses a token once exp plus its one-minute leeway has
// passed, before it ever looks the token up, so the record of an expired
// token protects nothing; the grace covers clock adjustments.
const usedTokenGrace = 10 * time.Minute

// pruneBatch bounds the deletions of one transaction.
const pruneBatch = 1000

// pruneUsedTokens deletes used_ott records of tokens whose exp is before
// before, at most limit, and returns how many it deleted. Values that are not
// a JWT with a numeric exp are kept.
func (s *Store) pruneUsedTokens(ctx context.Context, before time.Time, limit int) (int, error) {
	var keys [][]byte
	prefix := tableMarker(steplayout.TableUsedOTT)
	err := s.view(func(txn *badgerdb.Txn) error {
		keys = keys[:0]
		it := txn.NewIterator(badgerdb.IteratorOptions{Prefix: prefix, PrefetchValues: false})
		defer it.Close()
		for it.Seek(prefix); it.ValidForPrefix(prefix) && len(keys) < limit; it.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			item := it.Item()
			var exp int64
			var ok bool
			if err := item.Value(func(v []byte) error { exp, ok = steplayout.TokenExpiry(v); return nil }); err != nil {
				return err
			}
			if ok && time.Unix(exp, 0).Before(before) {
				keys = append(keys, item.KeyCopy(nil))
			}
		}
		return nil
	})
	if err != nil || len(keys) == 0 {
		return 0, err
	}
	err = s.submit(ctx, &op{what: fmt.Sprintf("delete %d expired used tokens", len(keys)), apply: func(txn *wtxn) error {
		for _, k := range keys {
			if err := txn.Delete(k); err != nil {
				return err
			}
		}
		return nil
	}})
	if err != nil {
		return 0, err
	}
	return len(keys), nil
}

// pruneAllUsedTokens runs pruneUsedTokens in batches until none is left.
func (s *Store) pruneAllUsedTokens(ctx context.Context, before time.Time) (int, error) {
	total := 0
	for {
		n, err := s.pruneUsedTokens(ctx, before, pruneBatch)
		total += n
		if err != nil || n < pruneBatch {
			return total, err
		}
	}
}

// tokenLoadChunk bounds the keys read in one transaction by loadTokens, so
// that Close (which waits for readers) never waits long.
const tokenLoadChunk = 10_000

// loadTokens adds every used_ott key to s.tokens, then sets tokensReady.
// It reads the table in chunks, each in its own transaction: a key committed
// between two chunks went through useToken, which added it when reserving
// it. Until it finishes, every token use is looked up in Badger. Pruned
// keys stay in the filter: a false positive only costs a lookup.
func (s *Store) loadTokens() {
	defer close(s.tokensLoaded)
	prefix := tableMarker(steplayout.TableUsedOTT)
	seek := prefix
	for chunk := 1; seek != nil; chunk++ {
		var next []byte
		err := s.view(func(txn *badgerdb.Txn) error {
			it := txn.NewIterator(badgerdb.IteratorOptions{Prefix: prefix, PrefetchValues: false})
			defer it.Close()
			n := 0
			for it.Seek(seek); it.ValidForPrefix(prefix); it.Next() {
				k := it.Item().Key()
				if n == tokenLoadChunk {
					next = bytes.Clone(k)
					return nil
				}
				// The table marker is the prefix itself; records add
				// u16le(len(key)) || key.
				if len(k) > len(prefix)+2 {
					s.tokens.Add(string(k[len(prefix)+2:]))
				}
				n++
			}
			return nil
		})
		if err != nil {
			s.mu.RLock()
			closed := s.closed
			s.mu.RUnlock()
			if !closed {
				s.logf("reading table %s for its key filter: %v; every use is looked up in the table", steplayout.TableUsedOTT, oneLine{err})
			}
			return
		}
		seek = next
		if chunk%pageOutChunks == 0 {
			s.pageOutSoon()
		}
	}
	s.tokensReady.Store(true)
	s.pageOutSoon()
}

// pageOutChunks is how many chunks loadTokens reads between page-outs: the
// table pages it touches (about 70 MB per 100,000 tokens) are handed back
// as it goes, not all at the end.
const pageOutChunks = 10
