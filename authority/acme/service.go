// Package acme is the ACME server's state machine (RFC 8555): accounts,
// nonces, orders, authorizations, challenges, finalization and
// certificates, persisted through the store.ACMEStore port in step-ca's
// logical layout (wire-spec §6.4). It knows no HTTP: api/acme verifies the
// JWS and maps the *Error problems to responses. Challenges are checked by
// a Validator (authority/acme/validate), certificates issued by the
// authority with the ACME provisioner's plan.
package acme

import (
	"context"
	"crypto"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/sirupsen/logrus"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/internal/errs"
)

// Lifetimes of pending objects (step-ca's: 24 hours).
const (
	OrderLifetime = 24 * time.Hour
	AuthzLifetime = 24 * time.Hour
	// MaxIdentifiers bounds an order's identifiers.
	MaxIdentifiers = 100
	// MaxAccountOrders bounds the order IDs kept in an account's index;
	// the oldest are dropped from the list (the orders themselves stay).
	MaxAccountOrders = 1000
	// memoRecords bounds the decode memo (a record is a few KiB at most).
	memoRecords = 8192
)

// ValidationRequest is what a validator checks.
type ValidationRequest struct {
	Type       string // http-01, dns-01, tls-alpn-01
	Identifier Identifier
	Token      string
	// KeyAuthorization is token || '.' || base64url(JWK thumbprint).
	KeyAuthorization string
}

// Validator checks a challenge against the client's server (RFC 8555 §8).
// It honours ctx, bounds its own time, memory and concurrency, and returns
// nil when the challenge is met, or an error that may implement
// FailureTyper (connection, dns, tls, incorrectResponse, ...).
type Validator interface {
	Validate(ctx context.Context, req ValidationRequest) error
}

// Deps are the service's collaborators.
type Deps struct {
	Store     store.ACMEStore
	Validator Validator
	Now       func() time.Time
	Logger    logrus.FieldLogger
	// Nonces keeps the nonces; nil keeps them in Store's nonces table
	// (step-ca's layout), which CAs sharing a SQL database need.
	Nonces NonceStore
	// SingleWriter says that no other process writes Store (Badger,
	// bbolt): accounts are then cached in memory.
	SingleWriter bool
	// RetryDelays are the waits before each background re-validation of a
	// challenge whose first attempt failed with a retryable problem (RFC
	// 8555 §8.2, retry.go): nil means DefaultRetryDelays, an empty
	// non-nil slice no retries.
	RetryDelays []time.Duration
	// MaxPendingRetries bounds the challenges being retried; beyond it a
	// failure is final at once. 0 means DefaultMaxPendingRetries.
	MaxPendingRetries int
}

// Service is the ACME state machine. Safe for concurrent use; besides its
// dependencies it keeps only caches, the challenges being retried in the
// background (Close stops them) and, with a single-writer store, the
// in-memory claims of the orders being finalized.
type Service struct {
	d        Deps
	accounts *accountCache // nil unless Deps.SingleWriter
	retries  *retrier
	// finalizing holds the orders being finalized, when Deps.SingleWriter
	// (nil otherwise: the store's processing status is the claim).
	finalizing *orderClaims
	memo       *decodeMemo
}

type orderClaims struct {
	mu sync.Mutex
	m  map[string]struct{}
}

// New returns the service.
func New(d Deps) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	s := &Service{d: d, retries: newRetrier(d.RetryDelays, d.MaxPendingRetries), memo: newDecodeMemo(memoRecords)}
	if d.SingleWriter {
		s.accounts = newAccountCache(10_000)
		s.finalizing = &orderClaims{m: make(map[string]struct{})}
	}
	return s
}

func (s *Service) now() time.Time { return s.d.Now().UTC().Truncate(time.Second) }

// randomID returns a random URL-safe identifier (128 bits).
func randomID() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", errs.E(errs.Internal, "random", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// load reads table[key] into v; an absent record is a NotFound problem.
func (s *Service) load(ctx context.Context, table, key, what string, v any) error {
	b, err := s.d.Store.ACMEGet(ctx, table, key)
	if errors.Is(err, store.ErrNotFound) {
		return Problemf(NotFound, "%s %s not found", what, key)
	}
	if err != nil {
		return fmt.Errorf("read %s %s: %w", what, key, err)
	}
	if err := s.memo.decode(table, key, b, v); err != nil {
		return fmt.Errorf("decode %s %s: %w", what, key, err)
	}
	return nil
}

// txLoad reads table[key] into v inside tx, through the decode memo.
func (s *Service) txLoad(tx store.ACMETx, table, key, what string, v any) error {
	b, err := tx.Get(table, key)
	if errors.Is(err, store.ErrNotFound) {
		return Problemf(NotFound, "%s %s not found", what, key)
	}
	if err != nil {
		return err
	}
	if err := s.memo.decode(table, key, b, v); err != nil {
		return fmt.Errorf("decode %s %s: %w", what, key, err)
	}
	return nil
}

// txPut encodes v into table[key] and remembers the encoding.
func (s *Service) txPut(tx store.ACMETx, table, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	tx.Put(table, key, b)
	s.memo.encoded(table, key, b, v)
	return nil
}

// txLoad reads table[key] into v inside tx.
func txLoad(tx store.ACMETx, table, key, what string, v any) error {
	b, err := tx.Get(table, key)
	if errors.Is(err, store.ErrNotFound) {
		return Problemf(NotFound, "%s %s not found", what, key)
	}
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("decode %s %s: %w", what, key, err)
	}
	return nil
}

// txPut encodes v into table[key].
func txPut(tx store.ACMETx, table, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	tx.Put(table, key, b)
	return nil
}

// NewNonce creates a nonce (Deps.Nonces, or the nonces table) and returns it.
func (s *Service) NewNonce(ctx context.Context) (string, error) {
	if s.d.Nonces != nil {
		return s.d.Nonces.New(ctx)
	}
	id, err := randomID()
	if err != nil {
		return "", err
	}
	if p, ok := s.d.Store.(store.ACMEPutter); ok {
		// One statement: a nonce is new, nothing is read.
		b, err := json.Marshal(nonceRecord{ID: id, CreatedAt: s.now()})
		if err == nil {
			err = p.ACMEPut(ctx, store.TableACMENonces, id, b)
		}
		if err != nil {
			return "", fmt.Errorf("create nonce: %w", err)
		}
		return id, nil
	}
	err = s.d.Store.ACMEUpdate(ctx, func(tx store.ACMETx) error {
		return s.txPut(tx, store.TableACMENonces, id, nonceRecord{ID: id, CreatedAt: s.now()})
	})
	if err != nil {
		return "", fmt.Errorf("create nonce: %w", err)
	}
	return id, nil
}

// UseNonce consumes nonce: it is valid once, also across CAs sharing a
// database. A nonce never issued or already used is a badNonce problem.
func (s *Service) UseNonce(ctx context.Context, nonce string) error {
	if nonce == "" || len(nonce) > 64 {
		return Problemf(BadNonce, "the request has no valid nonce")
	}
	var ok bool
	var err error
	if s.d.Nonces != nil {
		ok, err = s.d.Nonces.Use(ctx, nonce)
	} else {
		ok, err = s.d.Store.ACMEConsume(ctx, store.TableACMENonces, nonce)
	}
	if err != nil {
		return fmt.Errorf("use nonce: %w", err)
	}
	if !ok {
		return Problemf(BadNonce, "nonce %q is unknown or was already used", nonce)
	}
	return nil
}

// Thumbprint returns the base64url SHA-256 JWK thumbprint (RFC 7638).
func Thumbprint(k *jose.JSONWebKey) (string, error) {
	b, err := k.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", Problemf(BadPublicKey, "cannot compute the key's thumbprint: %v", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// KeyAuthorization returns token.thumbprint(key) (RFC 8555 §8.1).
func KeyAuthorization(token string, k *jose.JSONWebKey) (string, error) {
	tp, err := Thumbprint(k)
	if err != nil {
		return "", err
	}
	return token + "." + tp, nil
}
