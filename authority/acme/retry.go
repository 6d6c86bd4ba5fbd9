package acme

import (
	"context"
	"errors"
	"io"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/mayfly-pki/mayfly/authority/store"
)

// Challenge validation retries (RFC 8555 §8.2: "the server MAY retry the
// validation ... the challenge remains in the processing state").
//
// The client's POST runs the first attempt synchronously (ValidateChallenge):
// a success or a final failure is recorded as before, in the same
// transaction. A failure whose problem type is retryable (RetryableProblem)
// instead moves the challenge to processing, with the attempt's problem in
// its error and its authorization still pending, and schedules the
// remaining attempts in the background, at Deps.RetryDelays after the
// previous one. A success at any attempt makes the challenge and its
// authorization valid; the last failure, or a failure that is not
// retryable, makes them invalid, exactly as a synchronous failure does.
//
// Bounds: at most Deps.MaxPendingRetries challenges have retries scheduled
// (beyond that a failure is final at once); each attempt runs through the
// same Validator, so it takes one of its slots and is bounded by its
// deadline; one chain at most per challenge (a client POSTing again to a
// processing challenge gets it back unchanged); Close stops every chain.
// The chains live in memory: after a restart a processing challenge stays
// so until its client POSTs it again, which validates it anew.

// Defaults of the retry policy.
var (
	// DefaultRetryDelays: two more attempts, 3 s and then 10 s after the
	// previous one.
	DefaultRetryDelays = []time.Duration{3 * time.Second, 10 * time.Second}
)

// DefaultMaxPendingRetries bounds the challenges with retries scheduled.
const DefaultMaxPendingRetries = 1024

// retryableProblems are the problem types of a validation failure that may
// be transient: the client's server or DNS record is not up yet, a
// connection was refused, reset or timed out, a TLS handshake failed.
// incorrectResponse, unauthorized, rejectedIdentifier, malformed (and any
// other type) mean the client answered wrongly or cannot be served: those
// failures are final at once.
var retryableProblems = map[ProblemType]bool{
	Connection: true,
	DNS:        true,
	TLS:        true,
}

// RetryableProblem reports whether a validation failure of problem type t
// is retried (see retryableProblems).
func RetryableProblem(t ProblemType) bool { return retryableProblems[t] }

// retryable reports whether the validator's error verr is retried.
func retryable(verr error) bool {
	var ft FailureTyper
	return errors.As(verr, &ft) && RetryableProblem(ProblemType(ft.ProblemType()))
}

// retrier schedules the background attempts. Safe for concurrent use.
type retrier struct {
	delays []time.Duration
	max    int
	ctx    context.Context // canceled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	closed bool
	// next is the time of the next attempt of each challenge with a chain
	// in flight (zero while an attempt runs).
	next map[string]time.Time
}

func newRetrier(delays []time.Duration, maxPending int) *retrier {
	if delays == nil {
		delays = DefaultRetryDelays
	}
	if maxPending <= 0 {
		maxPending = DefaultMaxPendingRetries
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &retrier{delays: delays, max: maxPending, ctx: ctx, cancel: cancel, next: map[string]time.Time{}}
}

// reserve claims the chain of challenge id. It returns false when retries
// are off, the service is closed, the bound is reached or id already has a
// chain (inFlight then says so).
func (r *retrier) reserve(id string) (ok, inFlight bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, busy := r.next[id]; busy {
		return false, true
	}
	if len(r.delays) == 0 || r.closed || len(r.next) >= r.max {
		return false, false
	}
	r.next[id] = time.Now().Add(r.delays[0])
	r.wg.Add(1) // under mu: Close cannot be waiting yet
	return true, false
}

// release ends the chain of challenge id.
func (r *retrier) release(id string) {
	r.mu.Lock()
	delete(r.next, id)
	r.mu.Unlock()
	r.wg.Done()
}

func (r *retrier) setNext(id string, at time.Time) {
	r.mu.Lock()
	if _, ok := r.next[id]; ok {
		r.next[id] = at
	}
	r.mu.Unlock()
}

// inFlight reports whether challenge id has a chain of retries.
func (r *retrier) inFlight(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.next[id]
	return ok
}

// Close stops the background retries and waits for the attempts in progress
// to end (an attempt's validation is canceled; its result is not recorded):
// their challenges stay processing, and are validated again when their
// clients POST them. Call it before closing the store. Idempotent.
func (s *Service) Close() {
	r := s.retries
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	r.cancel()
	r.wg.Wait()
}

// PendingRetries returns the number of challenges with retries scheduled.
func (s *Service) PendingRetries() int {
	s.retries.mu.Lock()
	defer s.retries.mu.Unlock()
	return len(s.retries.next)
}

// RetryAfter is how long a client should wait before polling a processing
// challenge, or a pending authorization with one (RFC 8555 §8.2
// Retry-After): until the next scheduled attempt, else the first delay.
func (s *Service) RetryAfter(ch *Challenge) time.Duration {
	r := s.retries
	d := time.Second
	if len(r.delays) > 0 {
		d = r.delays[0]
	}
	r.mu.Lock()
	at, ok := r.next[ch.ID]
	r.mu.Unlock()
	if ok && !at.IsZero() {
		d = time.Until(at)
	}
	return max(d, time.Second)
}

// retryLater handles the synchronous attempt's failure verr of challenge ch
// (authorization azID): when it is retryable and a retry chain may start,
// the challenge becomes processing and the chain is scheduled. handled says
// whether the failure was dealt with (the challenge returned, or err); when
// it is false, the caller records the failure as final.
func (s *Service) retryLater(ctx context.Context, ch *Challenge, azID string, req ValidationRequest, verr error) (*Challenge, bool, error) {
	if !retryable(verr) {
		return nil, false, nil
	}
	ok, inFlight := s.retries.reserve(ch.ID)
	if !ok && !inFlight {
		if len(s.retries.delays) > 0 {
			s.logger().WithFields(logrus.Fields{"challenge": ch.ID, "limit": s.retries.max}).
				Warn("acme challenge retries: too many pending or shutting down; the failure is final")
		}
		return nil, false, nil
	}
	// Record processing with this attempt's problem; a chain already in
	// flight (a concurrent POST) keeps running and decides.
	prob := challengeProblem(verr)
	var cur Challenge
	started := false
	err := s.d.Store.ACMEUpdate(ctx, func(tx store.ACMETx) error {
		started = false
		if err := txLoad(tx, store.TableACMEChallenges, ch.ID, "challenge", &cur); err != nil {
			return err
		}
		if cur.Status != StatusPending && cur.Status != StatusProcessing {
			return nil // decided meanwhile
		}
		cur.Status = StatusProcessing
		cur.Error = prob
		started = true
		return txPut(tx, store.TableACMEChallenges, ch.ID, &cur)
	})
	if ok && (err != nil || !started) {
		s.retries.release(ch.ID)
	}
	if err != nil {
		return nil, true, err
	}
	if ok && started {
		s.logger().WithFields(logrus.Fields{"challenge": ch.ID, "type": ch.Type, "identifier": ch.Value, "retries": len(s.retries.delays)}).
			WithError(verr).Info("acme challenge failed; retrying in the background")
		go s.retryChain(ch.ID, azID, req)
	}
	return &cur, true, nil
}

// retryChain runs the background attempts of challenge id until one decides
// it, the attempts run out or the service closes.
func (s *Service) retryChain(id, azID string, req ValidationRequest) {
	r := s.retries
	defer r.release(id)
	for i, d := range r.delays {
		t := time.NewTimer(d)
		select {
		case <-r.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		r.setNext(id, time.Time{})
		verr := s.d.Validator.Validate(r.ctx, req)
		if r.ctx.Err() != nil {
			return // closing: the attempt was cut short, record nothing
		}
		last := i == len(r.delays)-1
		decided, err := s.recordRetry(r.ctx, id, azID, verr, last || !retryable(verr))
		log := s.logger().WithFields(logrus.Fields{"challenge": id, "type": req.Type, "identifier": req.Identifier.Value, "attempt": i + 2})
		switch {
		case err != nil:
			log.WithError(err).Error("acme challenge retry: cannot record the result")
		case verr == nil && decided:
			log.Info("acme challenge valid after retry")
		case decided:
			log.WithError(verr).Info("acme challenge failed")
		}
		if decided {
			return
		}
		if !last {
			r.setNext(id, time.Now().Add(r.delays[i+1]))
		}
	}
}

// logger is Deps.Logger, or one that discards.
func (s *Service) logger() logrus.FieldLogger {
	if s.d.Logger != nil {
		return s.d.Logger
	}
	l := logrus.New()
	l.SetOutput(io.Discard)
	return l
}

// recordRetry records a background attempt of challenge id (verr nil: it
// succeeded), re-reading the challenge and its authorization in the
// transaction, as ValidateChallenge does: a challenge decided meanwhile is
// left alone. A success makes both valid; a failure that is final (or
// whose authorization is no longer pending) makes both invalid; any other
// failure keeps the challenge processing with the new error. decided says
// whether the challenge is now decided (no more attempts).
func (s *Service) recordRetry(ctx context.Context, id, azID string, verr error, final bool) (bool, error) {
	decided := false
	err := s.d.Store.ACMEUpdate(ctx, func(tx store.ACMETx) error {
		decided = true
		var cur Challenge
		if err := txLoad(tx, store.TableACMEChallenges, id, "challenge", &cur); err != nil {
			return err
		}
		var a Authz
		if err := txLoad(tx, store.TableACMEAuthzs, azID, "authorization", &a); err != nil {
			return err
		}
		if cur.Status != StatusPending && cur.Status != StatusProcessing {
			return nil // decided meanwhile
		}
		switch {
		case verr == nil:
			cur.Status = StatusValid
			cur.ValidatedAt = s.now().Format(time.RFC3339)
			cur.Error = nil
			if a.Status == StatusPending {
				a.Status = StatusValid
			}
		case final || authzStatus(&a, s.now()) != StatusPending:
			cur.Status = StatusInvalid
			cur.Error = challengeProblem(verr)
			if a.Status == StatusPending {
				a.Status = StatusInvalid
				a.Error = cur.Error
			}
		default:
			decided = false
			cur.Status = StatusProcessing
			cur.Error = challengeProblem(verr)
			return txPut(tx, store.TableACMEChallenges, id, &cur)
		}
		if err := txPut(tx, store.TableACMEChallenges, id, &cur); err != nil {
			return err
		}
		return txPut(tx, store.TableACMEAuthzs, a.ID, &a)
	})
	if err != nil {
		return false, err
	}
	return decided, nil
}
