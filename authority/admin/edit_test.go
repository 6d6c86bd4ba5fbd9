package admin_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/mayfly-pki/mayfly/db/memory"
	"github.com/mayfly-pki/mayfly/internal/errs"
)

// EditProvisioner edits the stored configuration within one change: edit
// sees the record as stored, a refusal (its own or the type/name check)
// writes nothing, an accepted edit is saved and announced.
func TestServiceEditProvisioner(t *testing.T) {
	ctx := context.Background()
	st := memory.New()
	svc, changed := newService(t, st, nil)
	if ok, err := svc.Bootstrap(ctx, json.RawMessage(`{"type":"JWK","name":"admin"}`), "step"); !ok || err != nil {
		t.Fatalf("Bootstrap: %v %v", ok, err)
	}
	before, _ := st.LoadAdmin(ctx)

	_, err := svc.EditProvisioner(ctx, "nope", func(cfg json.RawMessage) (json.RawMessage, error) { return cfg, nil })
	wantRefused(t, err, errs.NotFound, "provisioner nope not found")
	_, err = svc.EditProvisioner(ctx, "admin", func(json.RawMessage) (json.RawMessage, error) {
		return nil, errs.Exact(errs.Conflict, "refused by edit", nil)
	})
	wantRefused(t, err, errs.Conflict, "refused by edit")
	_, err = svc.EditProvisioner(ctx, "admin", func(json.RawMessage) (json.RawMessage, error) {
		return json.RawMessage(`{"type":"JWK","name":"renamed"}`), nil
	})
	wantRefused(t, err, errs.BadRequest, "cannot change provisioner type or name")
	if after, _ := st.LoadAdmin(ctx); after.Version != before.Version || changed.Load() != 1 {
		t.Fatalf("refused edits changed something: version %d→%d, %d changes", before.Version, after.Version, changed.Load())
	}

	var seen string
	p, err := svc.EditProvisioner(ctx, "admin", func(cfg json.RawMessage) (json.RawMessage, error) {
		seen = string(cfg)
		return json.RawMessage(`{"type":"JWK","name":"admin","policy":{"x509":{"allow":{"dns":["*.example.com"]}}}}`), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen != `{"type":"JWK","name":"admin"}` || p.Name != "admin" {
		t.Fatalf("edit saw %s, returned %+v", seen, p)
	}
	after, _ := st.LoadAdmin(ctx)
	if _, live := after.Live(); after.Version != before.Version+1 || len(live) != 1 ||
		string(live[0].Config) != `{"type":"JWK","name":"admin","policy":{"x509":{"allow":{"dns":["*.example.com"]}}}}` || changed.Load() != 2 {
		t.Fatalf("after the edit: version %d, %d changes, records %+v", after.Version, changed.Load(), live)
	}
}
