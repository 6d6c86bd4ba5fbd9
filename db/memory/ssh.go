package memory

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/internal/errs"
)

var _ store.SSHStore = (*Store)(nil)

// sshState holds the SSH records; guarded by Store.mu.
type sshState struct {
	certs map[string]*store.SSHCertificate
	hosts map[string]store.SSHHost
}

// StoreSSHCertificate keeps a copy of c and its host principals.
func (s *Store) StoreSSHCertificate(ctx context.Context, c *store.SSHCertificate) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store ssh certificate: %w", err)
	}
	if c == nil || len(c.Wire) == 0 {
		return errs.Errorf(errs.BadRequest, "store ssh certificate: no certificate")
	}
	if err := checkKey("serial", c.Serial); err != nil {
		return err
	}
	cp := *c
	cp.Wire, cp.Principals = bytes.Clone(c.Wire), slices.Clone(c.Principals)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errClosed()
	}
	if s.ssh.certs == nil {
		s.ssh.certs, s.ssh.hosts = map[string]*store.SSHCertificate{}, map[string]store.SSHHost{}
	}
	s.ssh.certs[c.Serial] = &cp
	if c.Host {
		for _, p := range c.Principals {
			p = strings.ToLower(p)
			s.ssh.hosts[p] = store.SSHHost{Principal: p, Serial: c.Serial, Expiry: c.ValidBefore}
		}
	}
	return nil
}

// GetSSHCertificate returns a copy of the record of serial, or store.ErrNotFound.
func (s *Store) GetSSHCertificate(ctx context.Context, serial string) (*store.SSHCertificate, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("get ssh certificate %s: %w", serial, err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, errClosed()
	}
	c, ok := s.ssh.certs[serial]
	if !ok {
		return nil, fmt.Errorf("ssh certificate %s: %w", serial, store.ErrNotFound)
	}
	cp := *c
	cp.Wire, cp.Principals = bytes.Clone(c.Wire), slices.Clone(c.Principals)
	return &cp, nil
}

// RevokeSSH is not supported without a database, as in step-ca.
func (s *Store) RevokeSSH(ctx context.Context, r *store.Revocation) error {
	return s.noRevocation(ctx)
}

// GetSSHRevocation is not supported without a database.
func (s *Store) GetSSHRevocation(ctx context.Context, serial string) (*store.Revocation, error) {
	return nil, s.noRevocation(ctx)
}

// ListSSHRevocations returns nothing: there are no revocations without a database.
func (s *Store) ListSSHRevocations(ctx context.Context) ([]*store.Revocation, error) {
	return nil, ctx.Err()
}

// ListSSHHosts returns the host principals, ordered.
func (s *Store) ListSSHHosts(ctx context.Context) ([]store.SSHHost, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, errClosed()
	}
	out := make([]store.SSHHost, 0, len(s.ssh.hosts))
	for _, h := range s.ssh.hosts {
		out = append(out, h)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Principal < out[j].Principal })
	return out, nil
}

var _ store.SSHScanner = (*Store)(nil)

// SSHScanCertificates implements store.SSHScanner: a snapshot taken under
// the lock, in serial order; fn runs without the lock.
func (s *Store) SSHScanCertificates(ctx context.Context, fn func(*store.SSHCertificate) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("ssh certificate scan: %w", err)
	}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return errClosed()
	}
	recs := make([]*store.SSHCertificate, 0, len(s.ssh.certs))
	for _, c := range s.ssh.certs {
		cp := *c
		cp.Wire, cp.Principals = bytes.Clone(c.Wire), slices.Clone(c.Principals)
		recs = append(recs, &cp)
	}
	s.mu.RUnlock()
	slices.SortFunc(recs, func(a, b *store.SSHCertificate) int { return strings.Compare(a.Serial, b.Serial) })
	for _, c := range recs {
		if err := fn(c); err != nil {
			return err
		}
	}
	return nil
}

// SSHScanRevocations implements store.SSHScanner: there are no
// revocations without a database.
func (s *Store) SSHScanRevocations(ctx context.Context, fn func(*store.Revocation) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("ssh revocation scan: %w", err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return errClosed()
	}
	return nil
}
