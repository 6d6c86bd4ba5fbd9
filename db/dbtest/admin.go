package dbtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/mayfly-pki/mayfly/authority/admin"
	"github.com/mayfly-pki/mayfly/authority/store"
)

// AdminStore is a store.Store that also keeps the admin tables.
type AdminStore interface {
	store.Store
	admin.Store
}

// RunAdmin runs the conformance suite of admin.Store: records round-trip
// exactly (times to the second, the provisioner configuration as JSON),
// the authority policy is set, replaced and deleted with the records,
// saving replaces by ID, the version counts saves, a save from a stale
// version writes nothing and fails with admin.ErrConflict, and of two
// concurrent saves from one version exactly one succeeds.
func RunAdmin(t *testing.T, open func(t *testing.T) AdminStore) {
	t.Helper()
	runEach(t, []suiteTest[AdminStore]{
		{"AdminEmpty", testAdminEmpty},
		{"AdminRoundTrip", testAdminRoundTrip},
		{"AdminReplace", testAdminReplace},
		{"AdminStaleVersion", testAdminStaleVersion},
		{"AdminConcurrentSaves", testAdminConcurrentSaves},
		{"AdminPolicy", testAdminPolicy},
	}, open)
}

var adminEpoch = time.Date(2031, 3, 4, 5, 6, 7, 0, time.UTC)

func testAdminRecords(n int) ([]*admin.Admin, []*admin.Provisioner) {
	var as []*admin.Admin
	var ps []*admin.Provisioner
	for i := range n {
		pid := fmt.Sprintf("prov-%d", i)
		ps = append(ps, &admin.Provisioner{
			ID: pid, AuthorityID: admin.DefaultAuthorityID, Type: "JWK", Name: fmt.Sprintf("p%d", i),
			Config:    json.RawMessage(fmt.Sprintf(`{"type":"JWK","name":"p%d","key":{"kty":"EC","crv":"P-256"}}`, i)),
			CreatedAt: adminEpoch,
		})
		as = append(as, &admin.Admin{
			ID: fmt.Sprintf("admin-%d", i), AuthorityID: admin.DefaultAuthorityID, ProvisionerID: pid,
			Subject: fmt.Sprintf("user%d@example.com", i), Type: admin.Type(1 + i%2), CreatedAt: adminEpoch,
		})
	}
	return as, ps
}

func sortedRecords(r *admin.Records) *admin.Records {
	sort.Slice(r.Admins, func(i, j int) bool { return r.Admins[i].ID < r.Admins[j].ID })
	sort.Slice(r.Provisioners, func(i, j int) bool { return r.Provisioners[i].ID < r.Provisioners[j].ID })
	return r
}

func sameJSON(a, b json.RawMessage) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return string(xa) == string(ya)
}

func checkRecords(t *testing.T, got *admin.Records, as []*admin.Admin, ps []*admin.Provisioner, version int64) {
	t.Helper()
	got = sortedRecords(got)
	if got.Version != version {
		t.Errorf("version %d, want %d", got.Version, version)
	}
	if len(got.Admins) != len(as) || len(got.Provisioners) != len(ps) {
		t.Fatalf("%d admins and %d provisioners, want %d and %d", len(got.Admins), len(got.Provisioners), len(as), len(ps))
	}
	for i, a := range as {
		g := got.Admins[i]
		if g.ID != a.ID || g.AuthorityID != a.AuthorityID || g.ProvisionerID != a.ProvisionerID || g.Subject != a.Subject ||
			g.Type != a.Type || !g.CreatedAt.Equal(a.CreatedAt) || !g.DeletedAt.Equal(a.DeletedAt) {
			t.Errorf("admin %d: got %+v, want %+v", i, g, a)
		}
	}
	for i, p := range ps {
		g := got.Provisioners[i]
		if g.ID != p.ID || g.AuthorityID != p.AuthorityID || g.Type != p.Type || g.Name != p.Name ||
			!g.CreatedAt.Equal(p.CreatedAt) || !g.DeletedAt.Equal(p.DeletedAt) || !sameJSON(g.Config, p.Config) {
			t.Errorf("provisioner %d: got %+v, want %+v", i, g, p)
		}
	}
}

func testAdminEmpty(t *testing.T, s AdminStore) {
	ctx := context.Background()
	r, err := s.LoadAdmin(ctx)
	if err != nil {
		t.Fatalf("LoadAdmin: %v", err)
	}
	checkRecords(t, r, nil, nil, 0)
	if v, err := s.AdminVersion(ctx); err != nil || v != 0 {
		t.Fatalf("AdminVersion = %d, %v; want 0", v, err)
	}
}

func testAdminRoundTrip(t *testing.T, s AdminStore) {
	ctx := context.Background()
	as, ps := testAdminRecords(3)
	if err := s.SaveAdmin(ctx, 0, admin.Change{Admins: as, Provisioners: ps}); err != nil {
		t.Fatalf("SaveAdmin: %v", err)
	}
	// The caller's records are not retained.
	as[0].Subject, ps[0].Config[2] = "changed", 'X'
	r, err := s.LoadAdmin(ctx)
	if err != nil {
		t.Fatalf("LoadAdmin: %v", err)
	}
	as2, ps2 := testAdminRecords(3)
	checkRecords(t, r, as2, ps2, 1)
	if v, err := s.AdminVersion(ctx); err != nil || v != 1 {
		t.Fatalf("AdminVersion = %d, %v; want 1", v, err)
	}
}

func testAdminReplace(t *testing.T, s AdminStore) {
	ctx := context.Background()
	as, ps := testAdminRecords(2)
	if err := s.SaveAdmin(ctx, 0, admin.Change{Admins: as, Provisioners: ps}); err != nil {
		t.Fatalf("SaveAdmin: %v", err)
	}
	as[1].Type, as[1].DeletedAt = admin.TypeSuper, adminEpoch.Add(time.Hour)
	ps[0].Name, ps[0].Config = "renamed", json.RawMessage(`{"type":"JWK","name":"renamed"}`)
	if err := s.SaveAdmin(ctx, 1, admin.Change{Admins: as[1:], Provisioners: ps[:1]}); err != nil {
		t.Fatalf("SaveAdmin replace: %v", err)
	}
	r, err := s.LoadAdmin(ctx)
	if err != nil {
		t.Fatalf("LoadAdmin: %v", err)
	}
	checkRecords(t, r, as, ps, 2)
}

func testAdminStaleVersion(t *testing.T, s AdminStore) {
	ctx := context.Background()
	as, ps := testAdminRecords(1)
	if err := s.SaveAdmin(ctx, 0, admin.Change{Admins: as, Provisioners: ps}); err != nil {
		t.Fatalf("SaveAdmin: %v", err)
	}
	more, _ := testAdminRecords(2)
	err := s.SaveAdmin(ctx, 0, admin.Change{Admins: more[1:], SetPolicy: true, Policy: json.RawMessage(`{"x509":{}}`)})
	if !errors.Is(err, admin.ErrConflict) {
		t.Fatalf("SaveAdmin from a stale version: %v, want ErrConflict", err)
	}
	r, err := s.LoadAdmin(ctx)
	if err != nil {
		t.Fatalf("LoadAdmin: %v", err)
	}
	checkRecords(t, r, as, ps, 1)
	if r.Policy != nil {
		t.Fatalf("the refused save wrote the policy %s", r.Policy)
	}
}

func testAdminConcurrentSaves(t *testing.T, s AdminStore) {
	ctx := context.Background()
	const n = 8
	as, _ := testAdminRecords(n)
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.SaveAdmin(ctx, 0, admin.Change{Admins: as[i : i+1]})
		}()
	}
	wg.Wait()
	won := 0
	for i, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, admin.ErrConflict):
			t.Errorf("save %d: %v", i, err)
		}
	}
	if won != 1 {
		t.Fatalf("%d saves from version 0 succeeded, want 1", won)
	}
	r, err := s.LoadAdmin(ctx)
	if err != nil {
		t.Fatalf("LoadAdmin: %v", err)
	}
	if len(r.Admins) != 1 || r.Version != 1 {
		t.Fatalf("%d admins at version %d, want 1 at 1", len(r.Admins), r.Version)
	}
}

func testAdminPolicy(t *testing.T, s AdminStore) {
	ctx := context.Background()
	as, _ := testAdminRecords(1)
	p1, p2 := json.RawMessage(`{"x509":{"allow":{"dns":["*.example.com"]}}}`), json.RawMessage(`{"x509":{"deny":{"dns":["bad.example.com"]}}}`)
	steps := []struct {
		c    admin.Change
		want json.RawMessage
	}{
		{admin.Change{Admins: as}, nil},                             // no policy
		{admin.Change{SetPolicy: true, Policy: p1}, p1},             // set alone
		{admin.Change{Admins: as, SetPolicy: false}, p1},            // kept
		{admin.Change{SetPolicy: true, Policy: p2}, p2},             // replaced
		{admin.Change{SetPolicy: true}, nil},                        // deleted
		{admin.Change{SetPolicy: true, Policy: p1, Admins: as}, p1}, // with records
	}
	for i, st := range steps {
		if err := s.SaveAdmin(ctx, int64(i), st.c); err != nil {
			t.Fatalf("step %d: SaveAdmin: %v", i, err)
		}
		r, err := s.LoadAdmin(ctx)
		if err != nil {
			t.Fatalf("step %d: LoadAdmin: %v", i, err)
		}
		if (st.want == nil) != (r.Policy == nil) || (st.want != nil && !sameJSON(st.want, r.Policy)) || r.Version != int64(i+1) {
			t.Fatalf("step %d: policy %s at version %d, want %s at %d", i, r.Policy, r.Version, st.want, i+1)
		}
	}
}
