package bbolt

import (
	"context"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/db/internal/acmekv"
)

var _ store.ACMEStore = (*Store)(nil)

// acmeRead returns a copy of table[key] in tx; a missing bucket (no ACME
// write yet) holds nothing.
func acmeRead(tx *bolt.Tx, table, key string) ([]byte, error) {
	if tx.Bucket([]byte(table)) == nil {
		return nil, acmekv.NotFound(table, key)
	}
	v, ok, err := get(tx, table, key)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, acmekv.NotFound(table, key)
	}
	return v, nil
}

// ACMEGet implements store.ACMEStore.
func (s *Store) ACMEGet(ctx context.Context, table, key string) ([]byte, error) {
	if err := ctxErr(ctx, "acme get"); err != nil {
		return nil, err
	}
	if err := acmekv.Check(table, key, nil); err != nil {
		return nil, err
	}
	var v []byte
	err := s.view("acme get", func(tx *bolt.Tx) error {
		var err error
		v, err = acmeRead(tx, table, key)
		return err
	})
	return v, err
}

// ACMEUpdate implements store.ACMEStore: fn runs on the committer (the only
// writer) inside the batch's write transaction; its outcome is returned
// once the batch is durable.
func (s *Store) ACMEUpdate(ctx context.Context, fn func(tx store.ACMETx) error) error {
	if err := ctxErr(ctx, "acme update"); err != nil {
		return err
	}
	return s.write(ctx, "acme update", func(btx *bolt.Tx) (error, error) {
		tx := &acmekv.Tx{Read: func(table, key string) ([]byte, error) { return acmeRead(btx, table, key) }}
		if err := fn(tx); err != nil {
			return err, nil
		}
		writes, err := tx.Writes()
		if err != nil {
			return err, nil
		}
		for _, w := range writes {
			b, err := btx.CreateBucketIfNotExists([]byte(w.Table))
			if err != nil {
				return nil, err
			}
			if w.Value == nil {
				err = b.Delete([]byte(w.Key))
			} else {
				err = b.Put([]byte(w.Key), w.Value)
			}
			if err != nil {
				return nil, err
			}
		}
		return nil, nil
	})
}

// ACMEConsume implements store.ACMEStore.
func (s *Store) ACMEConsume(ctx context.Context, table, key string) (bool, error) {
	var found bool
	err := s.ACMEUpdate(ctx, func(tx store.ACMETx) error {
		_, err := tx.Get(table, key)
		found = err == nil
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		tx.Delete(table, key)
		return nil
	})
	return found, err
}

var _ store.ACMEScanner = (*Store)(nil)

// ACMEScan implements store.ACMEScanner: step-ca's bucket of table, in key
// order, a page per read transaction; a missing bucket holds nothing.
func (s *Store) ACMEScan(ctx context.Context, table string, fn func(key string, value []byte) error) error {
	if !store.IsACMETable(table) {
		return fmt.Errorf("acme scan: unknown ACME table %q", table)
	}
	return s.scanPaged(ctx, "acme scan", table, true, fn)
}
