package badger

import (
	"context"
	"errors"
	"fmt"

	badgerdb "github.com/dgraph-io/badger/v4"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/db/internal/acmekv"
)

var _ store.ACMEStore = (*Store)(nil)

// ACMEGet implements store.ACMEStore: a read of the committed database.
func (s *Store) ACMEGet(ctx context.Context, table, key string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("acme get: %w", err)
	}
	if err := acmekv.Check(table, key, nil); err != nil {
		return nil, err
	}
	var v []byte
	err := s.view(func(txn *badgerdb.Txn) error {
		var err error
		v, err = get(txn, table, key)
		return err
	})
	return v, err
}

// ACMEUpdate implements store.ACMEStore: fn runs on the committer, the
// store's only writer, inside the batch transaction, so what it reads
// cannot change before its writes commit; its writes become durable with
// the batch (group commit).
func (s *Store) ACMEUpdate(ctx context.Context, fn func(tx store.ACMETx) error) error {
	var fnErr error
	o := &op{what: "acme update", apply: func(txn *wtxn) error {
		tx := &acmekv.Tx{Read: func(table, key string) ([]byte, error) {
			item, err := txn.Get(recordKey(table, key))
			if errors.Is(err, badgerdb.ErrKeyNotFound) {
				return nil, acmekv.NotFound(table, key)
			}
			if err != nil {
				return nil, fmt.Errorf("table %s: %w", table, err)
			}
			return item.ValueCopy(nil)
		}}
		fnErr = fn(tx)
		if fnErr != nil {
			return nil // nothing written; the caller gets fnErr
		}
		writes, err := tx.Writes()
		if err != nil {
			fnErr = err
			return nil
		}
		for _, w := range writes {
			k := recordKey(w.Table, w.Key)
			if w.Value == nil {
				err = txn.Delete(k)
			} else {
				err = txn.Set(k, w.Value)
			}
			if err != nil {
				return err
			}
		}
		return nil
	}}
	if err := s.submit(ctx, o); err != nil {
		return err
	}
	return fnErr
}

// ACMEConsume implements store.ACMEStore.
func (s *Store) ACMEConsume(ctx context.Context, table, key string) (bool, error) {
	found := false
	err := s.ACMEUpdate(ctx, func(tx store.ACMETx) error {
		_, err := tx.Get(table, key)
		switch {
		case errors.Is(err, store.ErrNotFound):
			found = false
			return nil
		case err != nil:
			return err
		}
		found = true
		tx.Delete(table, key)
		return nil
	})
	return found, err
}

var _ store.ACMEScanner = (*Store)(nil)

// ACMEScan implements store.ACMEScanner: step-ca's bucket of table, in
// Badger key order (key length, then bytes), a page per read transaction.
func (s *Store) ACMEScan(ctx context.Context, table string, fn func(key string, value []byte) error) error {
	if !store.IsACMETable(table) {
		return fmt.Errorf("acme scan: unknown ACME table %q", table)
	}
	return s.scanPaged(ctx, "acme scan "+table, table, fn)
}
