package admin_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mayfly-pki/mayfly/authority/admin"
	"github.com/mayfly-pki/mayfly/db/memory"
	"github.com/mayfly-pki/mayfly/internal/errs"
)

func newService(t *testing.T, st admin.Store, check func(*admin.Records) error) (*admin.Service, *atomic.Int32) {
	t.Helper()
	var changed atomic.Int32
	svc := admin.New(admin.Deps{
		Store: st,
		Check: func(_ context.Context, r *admin.Records) error {
			if check != nil {
				return check(r)
			}
			return nil
		},
		Changed:      func(context.Context) { changed.Add(1) },
		PollInterval: time.Millisecond,
	})
	return svc, &changed
}

func wantRefused(t *testing.T, err error, kind errs.Kind, msg string) {
	t.Helper()
	e := errs.As(err)
	if e == nil || e.Kind != kind || !strings.Contains(e.Detail, msg) {
		t.Fatalf("error %v, want %s %q", err, kind, msg)
	}
}

func TestServiceRefusals(t *testing.T) {
	ctx := context.Background()
	st := memory.New()
	svc, changed := newService(t, st, func(r *admin.Records) error {
		for _, p := range r.Provisioners {
			if p.Name == "broken" && p.DeletedAt.IsZero() {
				return errs.Exact(errs.BadRequest, "provisioner broken would not load: bad key", nil)
			}
		}
		return nil
	})
	cfg := json.RawMessage(`{"type":"JWK","name":"admin"}`)
	if ok, err := svc.Bootstrap(ctx, cfg, "step"); !ok || err != nil {
		t.Fatalf("Bootstrap: %v %v", ok, err)
	}
	if ok, err := svc.Bootstrap(ctx, cfg, "step"); ok || err != nil {
		t.Fatalf("second Bootstrap: %v %v, want false", ok, err)
	}
	recs, _ := st.LoadAdmin(ctx)
	step := recs.Admins[0]
	provID := recs.Provisioners[0].ID

	wantRefused(t, svc.DeleteAdmin(ctx, step.ID), errs.BadRequest, "cannot remove the last super admin")
	_, err := svc.UpdateAdmin(ctx, step.ID, admin.TypeAdmin)
	wantRefused(t, err, errs.BadRequest, "cannot change the type of the last super admin")
	wantRefused(t, svc.DeleteProvisioner(ctx, "admin"), errs.BadRequest, "cannot remove provisioner admin because no super admins will remain")
	_, err = svc.CreateAdmin(ctx, "step", provID, "admin", admin.TypeAdmin)
	wantRefused(t, err, errs.BadRequest, "admin with subject step and provisioner admin already exists")
	_, err = svc.CreateProvisioner(ctx, json.RawMessage(`{"type":"JWK","name":"admin"}`))
	wantRefused(t, err, errs.BadRequest, "provisioner with name admin already exists")
	_, err = svc.CreateProvisioner(ctx, json.RawMessage(`{"type":"JWK","name":"broken"}`))
	wantRefused(t, err, errs.BadRequest, "would not load")
	wantRefused(t, svc.DeleteAdmin(ctx, "nope"), errs.NotFound, "admin nope not found")
	_, err = svc.UpdateProvisioner(ctx, "admin", json.RawMessage(`{"type":"X5C","name":"admin"}`))
	wantRefused(t, err, errs.BadRequest, "cannot change provisioner type")
	_, err = svc.CreateAdmin(ctx, " ", provID, "admin", admin.TypeAdmin)
	wantRefused(t, err, errs.BadRequest, "admin subject cannot be empty")

	after, _ := st.LoadAdmin(ctx)
	if after.Version != recs.Version || len(after.Admins) != 1 || len(after.Provisioners) != 1 || changed.Load() != 1 {
		t.Fatalf("refusals changed something: version %d→%d, %d admins, %d provisioners, %d changes",
			recs.Version, after.Version, len(after.Admins), len(after.Provisioners), changed.Load())
	}

	// With a second super admin the first may go, and deleting a
	// provisioner deletes its admins.
	ops, err := svc.CreateAdmin(ctx, "ops", provID, "admin", admin.TypeSuper)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.DeleteAdmin(ctx, step.ID); err != nil {
		t.Fatal(err)
	}
	wantRefused(t, svc.DeleteAdmin(ctx, ops.ID), errs.BadRequest, "last super admin")
}

// TestServiceRunSeesOtherNodes: a change saved through another service on
// the same store makes Run call Changed; Run's own node does not repeat it.
func TestServiceRunSeesOtherNodes(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st := memory.New()
	a, _ := newService(t, st, nil)
	b, changedB := newService(t, st, nil)
	if _, err := b.Load(ctx); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); b.Run(ctx) }()
	if _, err := a.CreateProvisioner(ctx, json.RawMessage(`{"type":"JWK","name":"dev"}`)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for changedB.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("B never saw A's change")
		}
		time.Sleep(time.Millisecond)
	}
	// B's Changed would reload (Load): after that, no further calls.
	if _, err := b.Load(ctx); err != nil {
		t.Fatal(err)
	}
	n := changedB.Load()
	time.Sleep(20 * time.Millisecond)
	cancel()
	<-done
	if got := changedB.Load(); got > n+1 {
		t.Fatalf("B kept reporting the same change: %d calls", got)
	}
}
