package memory

import (
	"context"
	"fmt"
	"sort"

	"github.com/mayfly-pki/mayfly/authority/admin"
	"github.com/mayfly-pki/mayfly/authority/store"
)

var _ admin.EABStore = (*Store)(nil)

// CreateExternalAccountKey implements admin.EABStore.
func (s *Store) CreateExternalAccountKey(ctx context.Context, k *admin.EABKey) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("create EAB key: %w", err)
	}
	if err := checkKey("EAB key id", k.ID); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errClosed()
	}
	if s.eab == nil {
		s.eab = map[string]admin.EABKey{}
	}
	for _, o := range s.eab {
		if k.Reference != "" && o.ProvisionerID == k.ProvisionerID && o.Reference == k.Reference {
			return fmt.Errorf("provisioner %s, reference %s: %w", k.ProvisionerID, k.Reference, admin.ErrReferenceExists)
		}
	}
	c := *k
	c.HMACKey = append([]byte(nil), k.HMACKey...)
	s.eab[k.ID] = c
	return nil
}

// ListExternalAccountKeys implements admin.EABStore.
func (s *Store) ListExternalAccountKeys(ctx context.Context, provisionerID, reference string) ([]*admin.EABKey, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("list EAB keys: %w", err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, errClosed()
	}
	var out []*admin.EABKey
	for _, k := range s.eab {
		if k.ProvisionerID == provisionerID && (reference == "" || k.Reference == reference) {
			c := k
			c.HMACKey = append([]byte(nil), k.HMACKey...)
			out = append(out, &c)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.Before(out[j].CreatedAt)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// DeleteExternalAccountKey implements admin.EABStore.
func (s *Store) DeleteExternalAccountKey(ctx context.Context, provisionerID, id string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("delete EAB key: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errClosed()
	}
	if k, ok := s.eab[id]; !ok || k.ProvisionerID != provisionerID {
		return fmt.Errorf("EAB key %s: %w", id, store.ErrNotFound)
	}
	delete(s.eab, id)
	return nil
}
