// Package memory is the store used when ca.json has no "db" block
// (wire-spec §6.1, step-ca's "simple DB"): token reuse protection works for
// the life of the process, certificates are kept so that lookups work, and
// revocation is not available (step-ca answers 501).
//
// Nothing is persisted and nothing is ever evicted: memory grows with every
// certificate and token until the process exits, exactly like step-ca's
// in-memory map of used tokens.
package memory

import (
	"bytes"
	"context"
	"fmt"
	"sync"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/internal/errs"
)

// maxKeyLen matches the other backends' bound on serials and token keys.
const maxKeyLen = 255

// Store is an in-memory store.Store. All methods are safe for concurrent
// use. Writes are "durable" as soon as they return, for the life of the
// process. Revoke and GetRevocation return errors of kind errs.NotImplemented.
// After Close every method returns an error of kind errs.Unavailable.
type Store struct {
	mu     sync.RWMutex
	closed bool
	tokens map[string][]byte
	certs  map[string]*store.Certificate
	ssh    sshState
	acme   map[[2]string][]byte // ACME tables: {table, key} → value
	admin  adminTables
}

var _ store.Store = (*Store)(nil)

// New returns an empty store.
func New() *Store {
	return &Store{
		tokens: make(map[string][]byte),
		certs:  make(map[string]*store.Certificate),
		acme:   make(map[[2]string][]byte),
	}
}

// UseToken records key unless it is present (store.ErrTokenUsed, wrapped).
func (s *Store) UseToken(ctx context.Context, key string, token []byte) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("use token: %w", err)
	}
	if err := checkKey("token key", key); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errClosed()
	}
	if _, ok := s.tokens[key]; ok {
		return fmt.Errorf("used_ott key %s: %w", key, store.ErrTokenUsed)
	}
	s.tokens[key] = bytes.Clone(token)
	return nil
}

// StoreCertificate keeps a copy of c, replacing any record of the same serial.
func (s *Store) StoreCertificate(ctx context.Context, c *store.Certificate) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store certificate: %w", err)
	}
	if c == nil {
		return errs.Errorf(errs.BadRequest, "store certificate: no certificate")
	}
	if err := checkKey("serial", c.Serial); err != nil {
		return err
	}
	if len(c.DER) == 0 {
		return errs.Errorf(errs.BadRequest, "store certificate %s: empty DER", c.Serial)
	}
	cp := copyCertificate(c)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errClosed()
	}
	s.certs[c.Serial] = cp
	return nil
}

// GetCertificate returns a copy of the record of serial, or store.ErrNotFound.
func (s *Store) GetCertificate(ctx context.Context, serial string) (*store.Certificate, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("get certificate %s: %w", serial, err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, errClosed()
	}
	c, ok := s.certs[serial]
	if !ok {
		return nil, fmt.Errorf("certificate %s: %w", serial, store.ErrNotFound)
	}
	return copyCertificate(c), nil
}

// Revoke is not supported without a database, as in step-ca.
func (s *Store) Revoke(ctx context.Context, r *store.Revocation) error {
	return s.noRevocation(ctx)
}

// GetRevocation is not supported without a database, as in step-ca.
func (s *Store) GetRevocation(ctx context.Context, serial string) (*store.Revocation, error) {
	return nil, s.noRevocation(ctx)
}

func (s *Store) noRevocation(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("revocation: %w", err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return errClosed()
	}
	return errs.E(errs.NotImplemented, "revocation requires a database (ca.json \"db\")", nil)
}

// Close drops every record. A second Close returns an error.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errClosed()
	}
	s.closed = true
	s.tokens, s.certs, s.ssh = nil, nil, sshState{}
	return nil
}

func errClosed() error {
	return errs.E(errs.Unavailable, "database closed", fmt.Errorf("in-memory database is closed"))
}

func checkKey(what, key string) error {
	if key == "" {
		return errs.Errorf(errs.BadRequest, "invalid %s: empty", what)
	}
	if len(key) > maxKeyLen {
		return errs.Errorf(errs.BadRequest, "invalid %s: %d bytes long, the limit is %d", what, len(key), maxKeyLen)
	}
	return nil
}

func copyCertificate(c *store.Certificate) *store.Certificate {
	cp := *c
	cp.DER = bytes.Clone(c.DER)
	cp.Data = bytes.Clone(c.Data)
	return &cp
}
