package admin

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/mayfly-pki/mayfly/internal/errs"
)

// Deps are what a Service is built from.
type Deps struct {
	Store Store
	Now   func() time.Time
	// Logger receives change and poll failures; nil discards them.
	Logger logrus.FieldLogger
	// Check builds the configuration the records would give (ca.json's
	// provisioners with the records'): an error refuses the change before
	// anything is written. Its message is shown to the admin.
	Check func(ctx context.Context, r *Records) error
	// Changed is called after a change was saved here, or when Run sees
	// that another node saved one: it rebuilds and swaps in the snapshot
	// (from Load). It must be safe to call concurrently with requests.
	Changed func(ctx context.Context)
	// PollInterval is how often Run reads the version; default 500ms.
	PollInterval time.Duration
}

// Service changes the admin tables. Changes are serialised in this process
// and, across the nodes sharing a database, by the store's version check.
// Safe for concurrent use.
type Service struct {
	d  Deps
	mu sync.Mutex // serialises changes

	seenMu sync.Mutex
	seen   int64 // version of the last records loaded
}

// New returns a service; nothing runs until Run.
func New(d Deps) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.PollInterval <= 0 {
		d.PollInterval = 500 * time.Millisecond
	}
	if d.Check == nil {
		d.Check = func(context.Context, *Records) error { return nil }
	}
	if d.Changed == nil {
		d.Changed = func(context.Context) {}
	}
	return &Service{d: d}
}

// Load reads the records (for building a snapshot) and remembers their
// version, so that Run reports only later changes.
func (s *Service) Load(ctx context.Context) (*Records, error) {
	r, err := s.d.Store.LoadAdmin(ctx)
	if err != nil {
		return nil, err
	}
	s.seenMu.Lock()
	s.seen = max(s.seen, r.Version)
	s.seenMu.Unlock()
	return r, nil
}

// Run polls the version until ctx ends and calls Changed when it moved:
// a change saved by another node sharing the database.
func (s *Service) Run(ctx context.Context) {
	t := time.NewTicker(s.d.PollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		v, err := s.d.Store.AdminVersion(ctx)
		if err != nil {
			if ctx.Err() == nil && s.d.Logger != nil {
				s.d.Logger.WithError(err).Warn("admin: cannot read the admin tables' version")
			}
			continue
		}
		s.seenMu.Lock()
		moved := v != s.seen
		s.seenMu.Unlock()
		if moved {
			if s.d.Logger != nil {
				s.d.Logger.WithField("version", v).Info("admin: the admin tables changed; reloading")
			}
			s.d.Changed(ctx)
		}
	}
}

// change applies one change: mutate edits a copy of the current records
// and returns the records it changed; Check must accept the result; then
// the change is saved against the version it started from. A concurrent
// change from another node makes it start again (a few times).
func (s *Service) change(ctx context.Context, mutate func(r *Records) (Change, error)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for attempt := 0; ; attempt++ {
		cur, err := s.d.Store.LoadAdmin(ctx)
		if err != nil {
			return err
		}
		next := cur.clone()
		c, err := mutate(next)
		if err != nil {
			return err
		}
		if c.Empty() {
			return nil
		}
		if err := s.d.Check(ctx, next); err != nil {
			return err
		}
		err = s.d.Store.SaveAdmin(ctx, cur.Version, c)
		if errors.Is(err, ErrConflict) && attempt < 3 {
			continue
		}
		if errors.Is(err, ErrConflict) {
			return errs.E(errs.Conflict, "the admin tables are being changed by another node; try again", err)
		}
		if err != nil {
			return err
		}
		s.d.Changed(ctx)
		return nil
	}
}

// clone copies r deeply enough for mutate: the slices and each record.
func (r *Records) clone() *Records {
	out := &Records{Version: r.Version, Policy: r.Policy}
	for _, a := range r.Admins {
		c := *a
		out.Admins = append(out.Admins, &c)
	}
	for _, p := range r.Provisioners {
		c := *p
		out.Provisioners = append(out.Provisioners, &c)
	}
	return out
}

// Live returns the admins and provisioners that are not deleted.
func (r *Records) Live() ([]*Admin, []*Provisioner) {
	var as []*Admin
	var ps []*Provisioner
	for _, a := range r.Admins {
		if a.DeletedAt.IsZero() {
			as = append(as, a)
		}
	}
	for _, p := range r.Provisioners {
		if p.DeletedAt.IsZero() {
			ps = append(ps, p)
		}
	}
	return as, ps
}

// NewID returns a random record ID (a UUID v4, as step-ca's).
func NewID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("admin: random ID: %w", err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:], nil
}
