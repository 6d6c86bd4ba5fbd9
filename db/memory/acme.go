package memory

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/db/internal/acmekv"
)

var _ store.ACMEStore = (*Store)(nil)

// ACMEGet implements store.ACMEStore.
func (s *Store) ACMEGet(ctx context.Context, table, key string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("acme get: %w", err)
	}
	if err := acmekv.Check(table, key, nil); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, errClosed()
	}
	return s.acmeReadLocked(table, key)
}

func (s *Store) acmeReadLocked(table, key string) ([]byte, error) {
	v, ok := s.acme[[2]string{table, key}]
	if !ok {
		return nil, acmekv.NotFound(table, key)
	}
	return bytes.Clone(v), nil
}

// ACMEUpdate implements store.ACMEStore: fn runs under the store's lock.
func (s *Store) ACMEUpdate(ctx context.Context, fn func(tx store.ACMETx) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("acme update: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errClosed()
	}
	tx := &acmekv.Tx{Read: s.acmeReadLocked}
	if err := fn(tx); err != nil {
		return err
	}
	writes, err := tx.Writes()
	if err != nil {
		return err
	}
	for _, w := range writes {
		k := [2]string{w.Table, w.Key}
		if w.Value == nil {
			delete(s.acme, k)
		} else {
			s.acme[k] = w.Value
		}
	}
	return nil
}

// ACMEConsume implements store.ACMEStore.
func (s *Store) ACMEConsume(ctx context.Context, table, key string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("acme consume: %w", err)
	}
	if err := acmekv.Check(table, key, nil); err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false, errClosed()
	}
	k := [2]string{table, key}
	_, ok := s.acme[k]
	delete(s.acme, k)
	return ok, nil
}

var _ store.ACMEScanner = (*Store)(nil)

// ACMEScan implements store.ACMEScanner: a snapshot of table taken under
// the lock, in key order; fn runs without the lock.
func (s *Store) ACMEScan(ctx context.Context, table string, fn func(key string, value []byte) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("acme scan: %w", err)
	}
	if !store.IsACMETable(table) {
		return fmt.Errorf("acme scan: unknown ACME table %q", table)
	}
	type rec struct {
		key   string
		value []byte
	}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return errClosed()
	}
	var recs []rec
	for k, v := range s.acme {
		if k[0] == table {
			recs = append(recs, rec{k[1], bytes.Clone(v)})
		}
	}
	s.mu.RUnlock()
	slices.SortFunc(recs, func(a, b rec) int { return strings.Compare(a.key, b.key) })
	for _, r := range recs {
		if err := fn(r.key, r.value); err != nil {
			return err
		}
	}
	return nil
}
