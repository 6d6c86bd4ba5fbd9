package memory

import (
	"bytes"
	"context"
	"fmt"

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
