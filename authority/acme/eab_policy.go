package acme

import (
	"context"
	"encoding/json"

	"github.com/mayfly-pki/mayfly/authority/store"
)

// The certificate issuance policy of an EAB key (step-ca's ACME EAK
// policy, /admin/acme/policy/...): stored on the key, applied at new-order
// to the account bound with it, after the authority's and the
// provisioner's.

// eabKeyIn returns provisioner provID's EAB key id or, when id is empty,
// the one with reference ref.
func (s *Service) eabKeyIn(tx store.ACMETx, provID, id, ref string) (*EABKey, error) {
	if id == "" {
		var r eabReference
		if err := s.txLoad(tx, store.TableACMEEABReference, eabRefKey(provID, ref), "EAB key reference", &r); err != nil {
			if isNotFound(err) {
				return nil, Problemf(NotFound, "EAB key with reference %s not found", ref)
			}
			return nil, err
		}
		id = r.ExternalAccountKeyID
	}
	var k EABKey
	if err := s.txLoad(tx, store.TableACMEEABKeys, id, "EAB key", &k); err != nil {
		return nil, err
	}
	if k.ProvisionerID != provID {
		return nil, Problemf(NotFound, "EAB key %s not found", id)
	}
	return &k, nil
}

// EABKeyPolicy returns the policy of provisioner provID's EAB key id (or,
// id empty, the key with reference ref); nil when it has none.
func (s *Service) EABKeyPolicy(ctx context.Context, provID, id, ref string) (json.RawMessage, error) {
	var out json.RawMessage
	err := s.d.Store.ACMEUpdate(ctx, func(tx store.ACMETx) error {
		k, err := s.eabKeyIn(tx, provID, id, ref)
		if err != nil {
			return err
		}
		out = k.Policy
		return nil
	})
	return out, err
}

// EditEABKeyPolicy replaces the policy of the EAB key (as EABKeyPolicy
// finds it) with edit's result, given the current one (nil: none), in one
// transaction; a nil result removes it.
func (s *Service) EditEABKeyPolicy(ctx context.Context, provID, id, ref string, edit func(old json.RawMessage) (json.RawMessage, error)) error {
	return s.d.Store.ACMEUpdate(ctx, func(tx store.ACMETx) error {
		k, err := s.eabKeyIn(tx, provID, id, ref)
		if err != nil {
			return err
		}
		if k.Policy, err = edit(k.Policy); err != nil {
			return err
		}
		return s.txPut(tx, store.TableACMEEABKeys, k.ID, k)
	})
}

// AccountPolicy returns the policy of the EAB key account a was bound
// with; nil when it has none, was bound with none, or the key is gone.
func (s *Service) AccountPolicy(ctx context.Context, a *Account) (json.RawMessage, error) {
	if a == nil || a.ExternalAccountKeyID == "" {
		return nil, nil
	}
	var k EABKey
	if err := s.load(ctx, store.TableACMEEABKeys, a.ExternalAccountKeyID, "EAB key", &k); err != nil {
		if isNotFound(err) {
			return nil, nil
		}
		return nil, err
	}
	return k.Policy, nil
}
