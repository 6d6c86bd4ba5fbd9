package acme

import (
	"context"
	"sync"
	"time"
)

// NonceStore keeps the nonces handed out until they are used once.
// Concurrency: safe for concurrent use; of two concurrent Use calls of one
// nonce exactly one returns true.
type NonceStore interface {
	// New records and returns a fresh nonce.
	New(ctx context.Context) (string, error)
	// Use consumes nonce and reports whether it was valid.
	Use(ctx context.Context, nonce string) (bool, error)
}

// MemoryNonces is a NonceStore in this process's memory, for the
// single-process databases (Badger, bbolt: their lock keeps a second CA
// out, so no other node can see a nonce): no write per request. It holds at
// most max nonces (the oldest are dropped first) for at most ttl each. A
// restart forgets them; clients then get badNonce with a fresh nonce and
// retry (RFC 8555 §6.5).
type MemoryNonces struct {
	mu    sync.Mutex
	now   func() time.Time
	ttl   time.Duration
	max   int
	set   map[string]time.Time // nonce → expiry
	order []string             // ring of nonces in creation order
	head  int
}

// NewMemoryNonces returns an empty set; max ≤ 0 means 100,000, ttl ≤ 0 one hour.
func NewMemoryNonces(maxNonces int, ttl time.Duration, now func() time.Time) *MemoryNonces {
	if maxNonces <= 0 {
		maxNonces = 100_000
	}
	if ttl <= 0 {
		ttl = time.Hour
	}
	if now == nil {
		now = time.Now
	}
	return &MemoryNonces{now: now, ttl: ttl, max: maxNonces, set: make(map[string]time.Time), order: make([]string, maxNonces)}
}

// New implements NonceStore.
func (m *MemoryNonces) New(context.Context) (string, error) {
	n, err := randomID()
	if err != nil {
		return "", err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if old := m.order[m.head]; old != "" {
		delete(m.set, old) // the ring is full: drop the oldest
	}
	m.order[m.head] = n
	m.head = (m.head + 1) % m.max
	m.set[n] = m.now().Add(m.ttl)
	return n, nil
}

// Use implements NonceStore.
func (m *MemoryNonces) Use(_ context.Context, nonce string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	exp, ok := m.set[nonce]
	if !ok {
		return false, nil
	}
	delete(m.set, nonce) // its ring slot is overwritten in turn
	return m.now().Before(exp), nil
}
