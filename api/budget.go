package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
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
// memory may take together. A request takes the bytes of its body as they
// arrive (budgetBody), and gives them all back when its handler returns.
// Safe for concurrent use.
//
// Bytes are taken as received, not as announced: a client that announces
// large bodies and sends nothing holds nothing, so it cannot lock others
// out of the budget at no cost; to hold the budget it has to send it. What
// is counted is bytes, not buffer capacity: readBody's buffer is at most
// twice what it holds (io.ReadAll's growth), or its bounded size hint.
//
// Waiters are woken together on each release and race for the room. A
// request that holds part of its body may wait for room for the rest; when
// many large bodies fill the budget that way, the waits end with their
// timeout and the requests fail (503), giving their bytes back.
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

// errNoRoom is the cause of every refusal for want of room in the budget.
var errNoRoom = errors.New("no room in the request body budget")

// errBusy is the refusal of a request that found no room in time.
func errBusy(why error) error {
	cause := errNoRoom
	if why != nil {
		cause = fmt.Errorf("%w: %w", errNoRoom, why)
	}
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
			return errBusy(fmt.Errorf("%d bytes waited %v", n, b.wait))
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

// budgetBody is a request body whose bytes are taken from a budget as they
// are read, and given back together by release. Not safe for concurrent
// use, as a request body.
type budgetBody struct {
	body   io.ReadCloser
	budget *bodyBudget
	ctx    context.Context
	held   int64
	done   bool
}

// Read reads from the body, then takes what it read from the budget,
// waiting for room if needed; without room, it fails with the budget's
// errs.Unavailable error and the bytes are dropped.
func (b *budgetBody) Read(p []byte) (int, error) {
	if b.done {
		return 0, http.ErrBodyReadAfterClose
	}
	n, err := b.body.Read(p)
	if n > 0 {
		if err := b.budget.acquire(b.ctx, int64(n)); err != nil {
			return 0, err
		}
		b.held += int64(n)
	}
	return n, err
}

// Close closes the body; the bytes read stay held until release.
func (b *budgetBody) Close() error { return b.body.Close() }

// release gives back every byte read and ends reading.
func (b *budgetBody) release() {
	b.done = true
	if b.held > 0 {
		b.budget.release(b.held)
		b.held = 0
	}
}
