package badger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	badgerdb "github.com/dgraph-io/badger/v4"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/db/internal/steplayout"
)

var _ store.CRLStore = (*Store)(nil)

// ListRevocations reads revoked_x509_certs in one read transaction.
func (s *Store) ListRevocations(ctx context.Context, notExpiredBefore time.Time, fn func(*store.Revocation) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("list revocations: %w", err)
	}
	prefix := tableMarker(steplayout.TableRevokedCerts)
	var fnErr error
	err := s.view(func(txn *badgerdb.Txn) error {
		opts := badgerdb.DefaultIteratorOptions
		opts.Prefix = prefix
		it := txn.NewIterator(opts)
		defer it.Close()
		var r store.Revocation
		var f steplayout.CRLFields
		for it.Rewind(); it.ValidForPrefix(prefix); it.Next() {
			item := it.Item()
			if _, ok := serialOf(item.Key(), len(prefix)); !ok {
				continue // the table marker
			}
			f = steplayout.CRLFields{}
			if err := item.Value(func(v []byte) error { return json.Unmarshal(v, &f) }); err != nil {
				return fmt.Errorf("table %s, key %q: decode revocation: %w", steplayout.TableRevokedCerts, item.Key(), err)
			}
			if !f.ExpiresAt.IsZero() && f.ExpiresAt.Before(notExpiredBefore) {
				continue
			}
			r = store.Revocation{Serial: f.Serial, ReasonCode: f.ReasonCode, RevokedAt: f.RevokedAt, ExpiresAt: f.ExpiresAt}
			if fnErr = fn(&r); fnErr != nil {
				return nil
			}
		}
		return ctx.Err()
	})
	if err != nil {
		return err
	}
	return fnErr
}

// NextCRLNumber takes the next number in x509_crl (see
// steplayout.NextCRLNumber) through the committer: durable on return.
func (s *Store) NextCRLNumber(ctx context.Context) (int64, error) {
	k := recordKey(steplayout.TableCRL, steplayout.KeyCRLNumber)
	crlKey := recordKey(steplayout.TableCRL, steplayout.KeyCRL)
	var n int64
	err := s.submit(ctx, &op{what: "take CRL number", apply: func(txn *wtxn) error {
		counter, err := value(txn, k)
		if err != nil {
			return err
		}
		crl, err := value(txn, crlKey)
		if err != nil {
			return err
		}
		next, v, err := steplayout.NextCRLNumber(counter, crl)
		if err != nil {
			return err
		}
		n = next
		return txn.Set(k, v)
	}})
	return n, err
}

// value returns a copy of k's value in txn, or nil when k is absent.
func value(txn *wtxn, k []byte) ([]byte, error) {
	item, err := txn.Get(k)
	if errors.Is(err, badgerdb.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	return item.ValueCopy(nil)
}
