package api

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/mayfly-pki/mayfly/internal/errs"
)

// Defaults of the server-wide request body budget (Deps.BodyBudget,
// Deps.BodyWait).
const (
	// DefaultBodyBudget bounds the request body bytes held at once by all
	// requests: 128 bodies at the MaxBodySize limit, or about 16,000 sign
	// requests of 2 KB.
	DefaultBodyBudget = 32 << 20
	// DefaultBodyWait is how long a request waits for room in the budget
	// before it is refused with a 503.
	DefaultBodyWait = 5 * time.Second
)

// bodyBudget is a counting semaphore over bytes: what every request body in
// memory may take together. A request reserves its announced length (or
// MaxBodySize when unannounced) before reading its body, and gives it back
// when its handler returns. Safe for concurrent use.
//
// Waiters are woken together on each release and race for the room; a
// request never needs more than MaxBodySize, so none starves while the
// budget holds many of them.
type bodyBudget struct {
	limit int64
	// wait bounds a wait for room; zero or negative refuses at once.
	wait time.Duration

	mu      sync.Mutex
	used    int64
	waiters int
	// freed is closed, and replaced, when bytes are released while
	// someone waits.
	freed chan struct{}
}

func newBodyBudget(limit int64, wait time.Duration) *bodyBudget {
	return &bodyBudget{limit: limit, wait: wait, freed: make(chan struct{})}
}

// errBusy is the refusal of a request that found no room in time.
func errBusy(cause error) error {
	return errs.Exact(errs.Unavailable, "The certificate authority is busy reading other requests. Please retry later.", cause)
}

// acquire reserves n bytes (n <= limit), waiting up to the budget's wait
// while ctx lasts. It fails with an errs.Unavailable error; the caller must
// release(n) after a nil return, and only then.
func (b *bodyBudget) acquire(ctx context.Context, n int64) error {
	b.mu.Lock()
	if b.used+n <= b.limit {
		b.used += n
		b.mu.Unlock()
		return nil
	}
	if b.wait <= 0 {
		b.mu.Unlock()
		return errBusy(nil)
	}
	timer := time.NewTimer(b.wait)
	defer timer.Stop()
	b.waiters++
	for {
		freed := b.freed
		b.mu.Unlock()
		select {
		case <-freed:
		case <-ctx.Done():
			b.giveUp()
			return errBusy(ctx.Err())
		case <-timer.C:
			b.giveUp()
			return errBusy(fmt.Errorf("no room for %d bytes within %v", n, b.wait))
		}
		b.mu.Lock()
		if b.used+n <= b.limit {
			b.used += n
			b.waiters--
			b.mu.Unlock()
			return nil
		}
	}
}

// giveUp ends a wait without the bytes.
func (b *bodyBudget) giveUp() {
	b.mu.Lock()
	b.waiters--
	b.mu.Unlock()
}

// release gives back n bytes taken by acquire and wakes the waiters.
func (b *bodyBudget) release(n int64) {
	b.mu.Lock()
	b.used -= n
	if b.waiters > 0 {
		close(b.freed)
		b.freed = make(chan struct{})
	}
	b.mu.Unlock()
}

// inUse returns the bytes reserved now.
func (b *bodyBudget) inUse() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}

// waiting returns the number of requests waiting for room.
func (b *bodyBudget) waiting() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.waiters
}
