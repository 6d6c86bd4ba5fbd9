package memory

import (
	"context"
	"fmt"

	"github.com/mayfly-pki/mayfly/authority/admin"
)

var _ admin.Store = (*Store)(nil)

// adminTables are the admin records, by ID, and their version.
type adminTables struct {
	admins       map[string]admin.Admin
	provisioners map[string]admin.Provisioner
	policy       []byte
	version      int64
}

// LoadAdmin implements admin.Store.
func (s *Store) LoadAdmin(ctx context.Context) (*admin.Records, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("load admin tables: %w", err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, errClosed()
	}
	r := &admin.Records{Version: s.admin.version}
	if s.admin.policy != nil {
		r.Policy = append([]byte(nil), s.admin.policy...)
	}
	for _, a := range s.admin.admins {
		c := a
		r.Admins = append(r.Admins, &c)
	}
	for _, p := range s.admin.provisioners {
		c := p
		c.Config = append([]byte(nil), p.Config...)
		r.Provisioners = append(r.Provisioners, &c)
	}
	return r, nil
}

// AdminVersion implements admin.Store.
func (s *Store) AdminVersion(ctx context.Context) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("admin version: %w", err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return 0, errClosed()
	}
	return s.admin.version, nil
}

// SaveAdmin implements admin.Store.
func (s *Store) SaveAdmin(ctx context.Context, expect int64, c admin.Change) error {
	admins, provs := c.Admins, c.Provisioners
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("save admin tables: %w", err)
	}
	if err := checkAdminRecords(admins, provs); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errClosed()
	}
	if s.admin.version != expect {
		return fmt.Errorf("save admin tables at version %d, found %d: %w", expect, s.admin.version, admin.ErrConflict)
	}
	if s.admin.admins == nil {
		s.admin.admins, s.admin.provisioners = map[string]admin.Admin{}, map[string]admin.Provisioner{}
	}
	for _, a := range admins {
		s.admin.admins[a.ID] = *a
	}
	for _, p := range provs {
		c := *p
		c.Config = append([]byte(nil), p.Config...)
		s.admin.provisioners[p.ID] = c
	}
	if c.SetPolicy {
		s.admin.policy = nil
		if len(c.Policy) > 0 {
			s.admin.policy = append([]byte(nil), c.Policy...)
		}
	}
	s.admin.version++
	return nil
}

func checkAdminRecords(admins []*admin.Admin, provs []*admin.Provisioner) error {
	for _, a := range admins {
		if err := checkKey("admin id", a.ID); err != nil {
			return err
		}
	}
	for _, p := range provs {
		if err := checkKey("provisioner id", p.ID); err != nil {
			return err
		}
	}
	return nil
}
