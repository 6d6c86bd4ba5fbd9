package ca

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/mayfly-pki/mayfly/authority/store"
)

// Defaults of RetentionOptions.
const (
	DefaultPruneInterval    = time.Hour
	DefaultMaintainInterval = 10 * time.Minute
	DefaultPruneBatch       = 1000
)

// Ticker is the part of *time.Ticker the retention job uses; tests inject
// their own to drive it without waiting.
type Ticker interface {
	C() <-chan time.Time
	Stop()
}

type timeTicker struct{ t *time.Ticker }

func (t timeTicker) C() <-chan time.Time { return t.t.C }
func (t timeTicker) Stop()               { t.t.Stop() }

// NewTimeTicker returns a Ticker on time.NewTicker.
func NewTimeTicker(d time.Duration) Ticker { return timeTicker{time.NewTicker(d)} }

// RetentionOptions configure a Retention job.
type RetentionOptions struct {
	// Inventory prunes expired records; nil, or Retention <= 0, disables pruning.
	Inventory store.Inventory
	// Retention is how long after NotAfter a record is kept.
	Retention time.Duration
	// Maintainer runs storage housekeeping (Badger value-log GC); nil disables it.
	Maintainer store.Maintainer
	// PruneInterval and MaintainInterval default to DefaultPruneInterval and
	// DefaultMaintainInterval.
	PruneInterval, MaintainInterval time.Duration
	// Batch is the DeleteExpired limit; 0 means DefaultPruneBatch.
	Batch int
	// Now defaults to time.Now; NewTicker to NewTimeTicker.
	Now       func() time.Time
	NewTicker func(time.Duration) Ticker
	Logger    logrus.FieldLogger
	// Done, when set, is called after every prune and maintenance run with
	// its kind ("prune" or "maintain"), count (records removed; 0 for
	// maintain) and error. Tests use it to wait for runs.
	Done func(kind string, n int, err error)
}

// Retention is the background job that prunes expired certificate records
// (once at start, then every PruneInterval) and runs storage maintenance
// every MaintainInterval. Build with NewRetention; Run until ctx ends.
type Retention struct {
	o RetentionOptions
}

// NewRetention returns the job, or nil when o enables neither pruning nor
// maintenance.
func NewRetention(o RetentionOptions) *Retention {
	if o.Retention <= 0 {
		o.Inventory = nil
	}
	if o.Inventory == nil && o.Maintainer == nil {
		return nil
	}
	if o.PruneInterval <= 0 {
		o.PruneInterval = DefaultPruneInterval
	}
	if o.MaintainInterval <= 0 {
		o.MaintainInterval = DefaultMaintainInterval
	}
	if o.Batch <= 0 {
		o.Batch = DefaultPruneBatch
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.NewTicker == nil {
		o.NewTicker = NewTimeTicker
	}
	if o.Logger == nil {
		l := logrus.New()
		l.Out = discard{}
		o.Logger = l
	}
	return &Retention{o: o}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// Run prunes once, then runs the scheduled work until ctx ends; it returns
// after the run in progress (if any) has stopped. Failures are logged and
// retried at the next tick. Safe to call on a nil *Retention (returns at
// once).
func (r *Retention) Run(ctx context.Context) {
	if r == nil {
		return
	}
	var wg sync.WaitGroup
	if r.o.Inventory != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.Prune(ctx)
			r.loop(ctx, r.o.PruneInterval, func() { r.Prune(ctx) })
		}()
	}
	if r.o.Maintainer != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.loop(ctx, r.o.MaintainInterval, func() { r.Maintain(ctx) })
		}()
	}
	wg.Wait()
}

func (r *Retention) loop(ctx context.Context, d time.Duration, fn func()) {
	t := r.o.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
			fn()
		}
	}
}

// Prune deletes, in batches, every record whose NotAfter is before
// now - Retention, logs one line with the count, and returns it.
func (r *Retention) Prune(ctx context.Context) int {
	before := r.o.Now().Add(-r.o.Retention)
	total := 0
	var err error
	for {
		var n int
		n, err = r.o.Inventory.DeleteExpired(ctx, before, r.o.Batch)
		total += n
		if err != nil || n == 0 {
			break
		}
	}
	log := r.o.Logger.WithFields(logrus.Fields{"removed": total, "expiredBefore": before.UTC().Format(time.RFC3339)})
	switch {
	case err != nil && errors.Is(err, context.Canceled):
		log.Info("retention: pruning stopped at shutdown")
	case err != nil:
		log.WithError(err).Error("retention: pruning expired certificates failed")
	default:
		log.Infof("retention: removed %d expired certificate records", total)
	}
	if r.o.Done != nil {
		r.o.Done("prune", total, err)
	}
	return total
}

// Maintain runs one round of storage maintenance, logging failures.
func (r *Retention) Maintain(ctx context.Context) {
	err := r.o.Maintainer.Maintain(ctx)
	if err != nil && !errors.Is(err, context.Canceled) {
		r.o.Logger.WithError(err).Error("retention: database maintenance failed")
	}
	if r.o.Done != nil {
		r.o.Done("maintain", 0, err)
	}
}
