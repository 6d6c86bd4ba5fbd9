package acme

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/mayfly-pki/mayfly/authority/store"
)

// AccountByKey returns the account of key, or an AccountDoesNotExist problem.
func (s *Service) AccountByKey(ctx context.Context, key *jose.JSONWebKey) (*Account, error) {
	tp, err := Thumbprint(key)
	if err != nil {
		return nil, err
	}
	id, err := s.d.Store.ACMEGet(ctx, store.TableACMEKeyIndex, tp)
	if errors.Is(err, store.ErrNotFound) {
		return nil, Problemf(AccountDoesNotExist, "no account exists for this key")
	}
	if err != nil {
		return nil, fmt.Errorf("read account index: %w", err)
	}
	return s.Account(ctx, string(id))
}

// Account returns account id, or an AccountDoesNotExist problem.
func (s *Service) Account(ctx context.Context, id string) (*Account, error) {
	if a, ok := s.accounts.get(id); ok {
		return a, nil
	}
	gen := s.accounts.generation()
	var a Account
	if err := s.load(ctx, store.TableACMEAccounts, id, "account", &a); err != nil {
		var p *Error
		if errors.As(err, &p) && p.Type == NotFound {
			return nil, Problemf(AccountDoesNotExist, "account %s does not exist", id)
		}
		return nil, err
	}
	s.accounts.put(&a, gen)
	return &a, nil
}

// CheckContacts validates contact URLs: mailto: with one address.
func CheckContacts(contacts []string) error {
	if len(contacts) > 10 {
		return Problemf(InvalidContact, "too many contacts (at most 10)")
	}
	for _, c := range contacts {
		addr, ok := strings.CutPrefix(c, "mailto:")
		if !ok {
			return Problemf(UnsupportedContact, "contact %q: only mailto: is supported", c)
		}
		if len(c) > 256 || strings.ContainsAny(addr, ",?") {
			return Problemf(InvalidContact, "contact %q is not a single email address", c)
		}
		if _, err := mail.ParseAddress(addr); err != nil {
			return Problemf(InvalidContact, "contact %q is not a valid email address", c)
		}
	}
	return nil
}

// CreateAccount creates an account for key unless one exists, which it
// returns with created false. bind, when not nil, runs inside the
// transaction with the new account (external account binding).
func (s *Service) CreateAccount(ctx context.Context, tmpl *Account, bind func(tx store.ACMETx, a *Account) error) (acc *Account, created bool, err error) {
	tp, err := Thumbprint(tmpl.Key)
	if err != nil {
		return nil, false, err
	}
	id, err := randomID()
	if err != nil {
		return nil, false, err
	}
	err = s.d.Store.ACMEUpdate(ctx, func(tx store.ACMETx) error {
		acc, created = nil, false
		if existing, err := tx.Get(store.TableACMEKeyIndex, tp); err == nil {
			var a Account
			if err := s.txLoad(tx, store.TableACMEAccounts, string(existing), "account", &a); err != nil {
				return err
			}
			acc = &a
			return nil
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		a := *tmpl
		a.ID, a.Status, a.CreatedAt = id, StatusValid, s.now()
		if bind != nil {
			if err := bind(tx, &a); err != nil {
				return err
			}
		}
		if err := s.txPut(tx, store.TableACMEAccounts, a.ID, &a); err != nil {
			return err
		}
		tx.Put(store.TableACMEKeyIndex, tp, []byte(a.ID))
		acc, created = &a, true
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	return acc, created, nil
}

// UpdateAccount applies fn to account id in one transaction; a deactivated
// account cannot change (unauthorized).
func (s *Service) UpdateAccount(ctx context.Context, id string, fn func(a *Account) error) (*Account, error) {
	var out *Account
	s.accounts.drop(id)
	defer s.accounts.drop(id) // also when the outcome is unknown
	err := s.d.Store.ACMEUpdate(ctx, func(tx store.ACMETx) error {
		var a Account
		if err := s.txLoad(tx, store.TableACMEAccounts, id, "account", &a); err != nil {
			return err
		}
		if a.Status != StatusValid {
			return Problemf(Unauthorized, "account %s is %s", id, a.Status)
		}
		if err := fn(&a); err != nil {
			return err
		}
		if a.Status == StatusDeactivated && a.DeactivatedAt.IsZero() {
			a.DeactivatedAt = s.now()
		}
		out = &a
		return s.txPut(tx, store.TableACMEAccounts, id, &a)
	})
	return out, err
}

// KeyChange replaces account id's key with newKey (RFC 8555 §7.3.5). A key
// that already has an account is a conflict: the returned account ID is
// that account's, with the error.
func (s *Service) KeyChange(ctx context.Context, id string, oldKey, newKey *jose.JSONWebKey) (*Account, string, error) {
	oldTP, err := Thumbprint(oldKey)
	if err != nil {
		return nil, "", err
	}
	newTP, err := Thumbprint(newKey)
	if err != nil {
		return nil, "", err
	}
	var out *Account
	var conflict string
	s.accounts.drop(id)
	defer s.accounts.drop(id)
	err = s.d.Store.ACMEUpdate(ctx, func(tx store.ACMETx) error {
		conflict = ""
		if other, err := tx.Get(store.TableACMEKeyIndex, newTP); err == nil {
			conflict = string(other)
			return Problemf(Malformed, "the new key is already in use by another account")
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		var a Account
		if err := s.txLoad(tx, store.TableACMEAccounts, id, "account", &a); err != nil {
			return err
		}
		if a.Status != StatusValid {
			return Problemf(Unauthorized, "account %s is %s", id, a.Status)
		}
		cur, err := Thumbprint(a.Key)
		if err != nil || cur != oldTP {
			return Problemf(Malformed, "oldKey is not the account's current key")
		}
		a.Key = newKey
		tx.Delete(store.TableACMEKeyIndex, oldTP)
		tx.Put(store.TableACMEKeyIndex, newTP, []byte(a.ID))
		out = &a
		return s.txPut(tx, store.TableACMEAccounts, a.ID, &a)
	})
	return out, conflict, err
}

// AccountOrders lists the IDs of account id's unfinished orders, oldest
// first (RFC 8555 §7.1.2.1). The index holds the orders not yet valid or
// invalid; one that became invalid without a write (it expired, or an
// authorization failed) is left out here.
func (s *Service) AccountOrders(ctx context.Context, id string) ([]string, error) {
	var ids []string
	err := s.load(ctx, store.TableACMEAccountOrders, id, "orders of account", &ids)
	var p *Error
	if errors.As(err, &p) && p.Type == NotFound {
		return []string{}, nil
	}
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(ids))
	for _, oid := range ids {
		var o Order
		if err := s.load(ctx, store.TableACMEOrders, oid, "order", &o); err != nil {
			if errors.As(err, &p) && p.Type == NotFound {
				continue
			}
			return nil, err
		}
		st, err := s.orderStatus(ctx, &o, nil)
		if err != nil {
			return nil, err
		}
		if st != StatusValid && st != StatusInvalid {
			out = append(out, oid)
		}
	}
	return out, nil
}
