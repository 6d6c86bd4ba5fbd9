package admin

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/mayfly-pki/mayfly/authority"
	adm "github.com/mayfly-pki/mayfly/authority/admin"
	"github.com/mayfly-pki/mayfly/authority/authoritytest"
	"github.com/mayfly-pki/mayfly/internal/audit"
	"github.com/mayfly-pki/mayfly/internal/errs"
)

type auditRecords struct {
	mu   sync.Mutex
	recs []audit.Record
}

func (s *auditRecords) Record(_ context.Context, r *audit.Record) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recs = append(s.recs, *r)
}

// TestAdminChangesAudited: every admin change the handlers carry out or
// refuse (after authentication) is one audit record naming the operation,
// the admin and the path; reads are not recorded.
func TestAdminChangesAudited(t *testing.T) {
	sink := &auditRecords{}
	env := authoritytest.New(t, authoritytest.Options{Audit: sink})
	h := NewHandler(Deps{Authority: func() *authority.Authority { return env.Authority }}, nil)
	r := chi.NewRouter()
	ok := h.wrap(func(w http.ResponseWriter, _ *http.Request, _ *authority.Authority, _ *authority.AdminAuth) error {
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
	r.Get("/admin/provisioners/{name}", ok)
	r.Delete("/admin/provisioners/{name}", ok)
	r.Put("/admin/provisioners/{prov}/webhooks/{name}", ok)
	r.Post("/admin/admins", h.wrap(func(http.ResponseWriter, *http.Request, *authority.Authority, *authority.AdminAuth) error {
		return errs.Exact(errs.BadRequest, "admin with subject x already exists", nil)
	}))
	who := &authority.AdminAuth{Subject: "step", Admin: &adm.Admin{ID: "a1", Subject: "step", Type: adm.TypeSuper}}
	for _, c := range []struct{ method, path string }{
		{http.MethodGet, "/admin/provisioners/jwk"},
		{http.MethodDelete, "/admin/provisioners/jwk"},
		{http.MethodPut, "/admin/provisioners/jwk/webhooks/hook"},
		{http.MethodPost, "/admin/admins"},
	} {
		req := httptest.NewRequest(c.method, c.path, nil)
		req = req.WithContext(context.WithValue(req.Context(), ctxKey{}, who))
		r.ServeHTTP(httptest.NewRecorder(), req)
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	want := []audit.Record{
		{Decision: audit.Admin, Operation: "provisioner delete", Subject: "step", Reason: "/admin/provisioners/jwk", Outcome: "ok"},
		{Decision: audit.Admin, Operation: "webhook update", Subject: "step", Reason: "/admin/provisioners/jwk/webhooks/hook", Outcome: "ok"},
		{Decision: audit.Refuse, Operation: "admin create", Subject: "step", Outcome: "bad-request"},
	}
	if len(sink.recs) != len(want) {
		t.Fatalf("%d audit records, want %d: %+v", len(sink.recs), len(want), sink.recs)
	}
	for i, w := range want {
		g := sink.recs[i]
		if g.Decision != w.Decision || g.Operation != w.Operation || g.Subject != w.Subject || (w.Reason != "" && g.Reason != w.Reason) {
			t.Errorf("record %d: %+v, want %+v", i, g, w)
		}
	}
	if g := sink.recs[2]; g.Outcome == "ok" || g.Reason == "" {
		t.Errorf("refused change recorded as %q / %q", g.Outcome, g.Reason)
	}
}
