package admin

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"sort"
	"strconv"

	"github.com/go-chi/chi/v5"
	"github.com/sirupsen/logrus"

	"github.com/mayfly-pki/mayfly/api/render"
	"github.com/mayfly-pki/mayfly/api/wire"
	"github.com/mayfly-pki/mayfly/authority"
	adm "github.com/mayfly-pki/mayfly/authority/admin"
	"github.com/mayfly-pki/mayfly/internal/errs"
)

// MaxBodySize bounds an admin request body: one provisioner with its
// templates and roots, in linkedca's JSON (bytes as base64).
const MaxBodySize = adm.MaxProvisionerSize * 2

// Handler serves /admin/provisioners, /admin/admins and /admin/policy.
type Handler struct {
	d   Deps
	svc *adm.Service
}

// NewHandler returns the admin API over svc, which changes the records;
// d.Authority's snapshots serve the reads.
func NewHandler(d Deps, svc *adm.Service) *Handler { return &Handler{d: d, svc: svc} }

// Mount adds the routes to r (at the root, as step-ca's /admin), each
// behind Middleware.
func (h *Handler) Mount(r chi.Router) {
	r.Group(func(r chi.Router) {
		r.Use(Middleware(h.d))
		r.Get("/admin/provisioners", h.wrap(h.listProvisioners))
		r.Get("/admin/provisioners/{name}", h.wrap(h.getProvisioner))
		r.Post("/admin/provisioners", h.wrap(h.createProvisioner))
		r.Put("/admin/provisioners/{name}", h.wrap(h.updateProvisioner))
		r.Delete("/admin/provisioners/{name}", h.wrap(h.deleteProvisioner))
		r.Get("/admin/admins", h.wrap(h.listAdmins))
		r.Get("/admin/admins/{id}", h.wrap(h.getAdmin))
		r.Post("/admin/admins", h.wrap(h.createAdmin))
		r.Patch("/admin/admins/{id}", h.wrap(h.updateAdmin))
		r.Delete("/admin/admins/{id}", h.wrap(h.deleteAdmin))
		r.Post("/admin/provisioners/{prov}/webhooks", h.wrap(h.createWebhook))
		r.Put("/admin/provisioners/{prov}/webhooks/{name}", h.wrap(h.updateWebhook))
		r.Delete("/admin/provisioners/{prov}/webhooks/{name}", h.wrap(h.deleteWebhook))
		r.Get("/admin/policy", h.wrap(h.getPolicy))
		r.Post("/admin/policy", h.wrap(h.setPolicy(true)))
		r.Put("/admin/policy", h.wrap(h.setPolicy(false)))
		r.Delete("/admin/policy", h.wrap(h.deletePolicy))
		r.Get("/admin/provisioners/{name}/policy", h.wrap(h.getProvisionerPolicy))
		r.Post("/admin/provisioners/{name}/policy", h.wrap(h.setProvisionerPolicy(true)))
		r.Put("/admin/provisioners/{name}/policy", h.wrap(h.setProvisionerPolicy(false)))
		r.Delete("/admin/provisioners/{name}/policy", h.wrap(h.deleteProvisionerPolicy))
	})
}

type handlerFunc func(w http.ResponseWriter, r *http.Request, a *authority.Authority, who *authority.AdminAuth) error

// wrap runs fn with the snapshot and the authenticated admin, bounds the
// body, renders errors as step-ca's admin errors and logs each change.
func (h *Handler) wrap(fn handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, MaxBodySize)
		}
		who, _ := FromContext(r.Context())
		a := h.d.Authority()
		err := fn(w, r, a, who)
		auditChange(r, a, err)
		if err != nil {
			h.d.logRefusal(r, err)
			WriteError(w, err)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead && h.d.Logger != nil && who != nil {
			h.d.Logger.WithFields(logrus.Fields{
				"method": r.Method, "path": r.URL.Path, "admin": who.Subject, "admin-id": who.Admin.ID,
			}).Info("admin change")
		}
	}
}

func decode(r *http.Request, v any) error {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return errs.Exact(errs.BadRequest, "request body is too large", err)
		}
		return errs.E(errs.BadRequest, "error reading request body", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return errs.Exact(errs.BadRequest, "error reading request body: "+err.Error(), err)
	}
	return nil
}

// page cuts a sorted list at cursor (an index) and limit (default 20, at
// most 100), as step-ca pages its admin lists.
func page[T any](r *http.Request, list []T) ([]T, string, error) {
	q := r.URL.Query()
	start, limit := 0, 20
	if c := q.Get("cursor"); c != "" {
		n, err := strconv.Atoi(c)
		if err != nil || n < 0 {
			return nil, "", errs.Exact(errs.BadRequest, "error parsing cursor and limit from query params: invalid cursor", nil)
		}
		start = n
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n <= 0 {
			return nil, "", errs.Exact(errs.BadRequest, "error parsing cursor and limit from query params: invalid limit", nil)
		}
		limit = min(n, 100)
	}
	if start >= len(list) {
		return []T{}, "", nil
	}
	end := min(start+limit, len(list))
	next := ""
	if end < len(list) {
		next = strconv.Itoa(end)
	}
	return list[start:end], next, nil
}

// provisioners returns every provisioner of the snapshot in linkedca form,
// those stored in the database with their record's ID and times.
func (h *Handler) provisioners(r *http.Request, a *authority.Authority) ([]*wire.Provisioner, error) {
	recs, err := h.svc.Load(r.Context())
	if err != nil {
		return nil, err
	}
	_, live := recs.Live()
	byName := map[string]*adm.Provisioner{}
	for _, p := range live {
		byName[p.Name] = p
	}
	var out []*wire.Provisioner
	for _, p := range a.Provisioners().All() {
		info := p.Info()
		cfg := p.JSON()
		if rec, ok := byName[info.Name]; ok {
			cfg = rec.Config
		}
		lp, err := redactedWire(cfg)
		if err != nil {
			return nil, err
		}
		lp.ID = info.ID
		if rec, ok := byName[info.Name]; ok {
			created := rec.CreatedAt
			lp.ID, lp.AuthorityID, lp.CreatedAt = rec.ID, rec.AuthorityID, &created
		}
		out = append(out, lp)
	}
	return out, nil
}

func (h *Handler) listProvisioners(w http.ResponseWriter, r *http.Request, a *authority.Authority, _ *authority.AdminAuth) error {
	all, err := h.provisioners(r, a)
	if err != nil {
		return err
	}
	list, next, err := page(r, all)
	if err != nil {
		return err
	}
	render.JSON(w, http.StatusOK, wire.AdminProvisionersResponse{Provisioners: list, NextCursor: next})
	return nil
}

func (h *Handler) getProvisioner(w http.ResponseWriter, r *http.Request, a *authority.Authority, _ *authority.AdminAuth) error {
	name := chi.URLParam(r, "name")
	all, err := h.provisioners(r, a)
	if err != nil {
		return err
	}
	for _, p := range all {
		if p.Name == name {
			render.JSON(w, http.StatusOK, p)
			return nil
		}
	}
	return errs.Exact(errs.NotFound, "provisioner "+name+" not found", nil)
}

func provisionerBody(r *http.Request) (json.RawMessage, error) {
	var p wire.Provisioner
	if err := decode(r, &p); err != nil {
		return nil, err
	}
	cfg, err := wire.ProvisionerToConfig(&p)
	if err != nil {
		return nil, errs.Exact(errs.BadRequest, err.Error(), err)
	}
	return cfg, nil
}

func recordToWire(rec *adm.Provisioner) (*wire.Provisioner, error) {
	lp, err := redactedWire(rec.Config)
	if err != nil {
		return nil, err
	}
	created := rec.CreatedAt
	lp.ID, lp.AuthorityID, lp.CreatedAt = rec.ID, rec.AuthorityID, &created
	return lp, nil
}

func (h *Handler) createProvisioner(w http.ResponseWriter, r *http.Request, _ *authority.Authority, _ *authority.AdminAuth) error {
	cfg, err := provisionerBody(r)
	if err != nil {
		return err
	}
	rec, err := h.svc.CreateProvisioner(r.Context(), cfg)
	if err != nil {
		return err
	}
	out, err := recordToWire(rec)
	if err != nil {
		return err
	}
	render.JSON(w, http.StatusCreated, out)
	return nil
}

func (h *Handler) updateProvisioner(w http.ResponseWriter, r *http.Request, a *authority.Authority, _ *authority.AdminAuth) error {
	name := chi.URLParam(r, "name")
	cfg, err := provisionerBody(r)
	if err != nil {
		return err
	}
	if err := h.notInCAJSON(r, a, name); err != nil {
		return err
	}
	if recs, err := h.svc.Load(r.Context()); err != nil {
		return err
	} else if old, ok := recs.ProvisionerByName(name); ok {
		if cfg, err = keepWebhookSecrets(old.Config, cfg); err != nil {
			return err
		}
		if cfg, err = keepProvisionerPolicy(old.Config, cfg); err != nil {
			return err
		}
	}
	rec, err := h.svc.UpdateProvisioner(r.Context(), name, cfg)
	if err != nil {
		return err
	}
	out, err := recordToWire(rec)
	if err != nil {
		return err
	}
	render.JSON(w, http.StatusOK, out)
	return nil
}

// notInCAJSON refuses to change a provisioner of ca.json through the API.
func (h *Handler) notInCAJSON(r *http.Request, a *authority.Authority, name string) error {
	recs, err := h.svc.Load(r.Context())
	if err != nil {
		return err
	}
	if _, ok := recs.ProvisionerByName(name); ok {
		return nil
	}
	if _, ok := a.Provisioners().ByName(name); ok {
		return errs.Exact(errs.BadRequest, "provisioner "+name+" is defined in ca.json; edit ca.json to change it", nil)
	}
	return nil
}

func (h *Handler) deleteProvisioner(w http.ResponseWriter, r *http.Request, a *authority.Authority, _ *authority.AdminAuth) error {
	name := chi.URLParam(r, "name")
	if err := h.notInCAJSON(r, a, name); err != nil {
		return err
	}
	if err := h.svc.DeleteProvisioner(r.Context(), name); err != nil {
		return err
	}
	render.JSON(w, http.StatusOK, wire.DeleteResponse{Status: "ok"})
	return nil
}

func adminToWire(a *adm.Admin) *wire.Admin {
	created := a.CreatedAt
	return &wire.Admin{ID: a.ID, AuthorityID: a.AuthorityID, Subject: a.Subject, ProvisionerID: a.ProvisionerID,
		Type: a.Type.String(), CreatedAt: &created}
}

func (h *Handler) listAdmins(w http.ResponseWriter, r *http.Request, _ *authority.Authority, _ *authority.AdminAuth) error {
	recs, err := h.svc.Load(r.Context())
	if err != nil {
		return err
	}
	live, _ := recs.Live()
	sort.Slice(live, func(i, j int) bool {
		if !live[i].CreatedAt.Equal(live[j].CreatedAt) {
			return live[i].CreatedAt.Before(live[j].CreatedAt)
		}
		return live[i].ID < live[j].ID
	})
	list, next, err := page(r, live)
	if err != nil {
		return err
	}
	out := wire.AdminsResponse{Admins: make([]*wire.Admin, 0, len(list)), NextCursor: next}
	for _, a := range list {
		out.Admins = append(out.Admins, adminToWire(a))
	}
	render.JSON(w, http.StatusOK, out)
	return nil
}

func (h *Handler) getAdmin(w http.ResponseWriter, r *http.Request, _ *authority.Authority, _ *authority.AdminAuth) error {
	id := chi.URLParam(r, "id")
	recs, err := h.svc.Load(r.Context())
	if err != nil {
		return err
	}
	live, _ := recs.Live()
	for _, a := range live {
		if a.ID == id {
			render.JSON(w, http.StatusOK, adminToWire(a))
			return nil
		}
	}
	return errs.Exact(errs.NotFound, "admin "+id+" not found", nil)
}

func (h *Handler) createAdmin(w http.ResponseWriter, r *http.Request, a *authority.Authority, _ *authority.AdminAuth) error {
	var body wire.CreateAdminRequest
	if err := decode(r, &body); err != nil {
		return err
	}
	typ, err := adm.ParseType(body.Type)
	if err != nil {
		return errs.Exact(errs.BadRequest, err.Error(), nil)
	}
	recs, err := h.svc.Load(r.Context())
	if err != nil {
		return err
	}
	var provID string
	if rec, ok := recs.ProvisionerByName(body.Provisioner); ok {
		provID = rec.ID
	} else if p, ok := a.Provisioners().ByName(body.Provisioner); ok {
		provID = p.Info().ID
	} else {
		return errs.Exact(errs.BadRequest, "provisioner "+body.Provisioner+" not found", nil)
	}
	created, err := h.svc.CreateAdmin(r.Context(), body.Subject, provID, body.Provisioner, typ)
	if err != nil {
		return err
	}
	render.JSON(w, http.StatusCreated, adminToWire(created))
	return nil
}

func (h *Handler) updateAdmin(w http.ResponseWriter, r *http.Request, _ *authority.Authority, _ *authority.AdminAuth) error {
	var body wire.UpdateAdminRequest
	if err := decode(r, &body); err != nil {
		return err
	}
	typ, err := adm.ParseType(body.Type)
	if err != nil {
		return errs.Exact(errs.BadRequest, err.Error(), nil)
	}
	updated, err := h.svc.UpdateAdmin(r.Context(), chi.URLParam(r, "id"), typ)
	if err != nil {
		return err
	}
	render.JSON(w, http.StatusOK, adminToWire(updated))
	return nil
}

func (h *Handler) deleteAdmin(w http.ResponseWriter, r *http.Request, _ *authority.Authority, _ *authority.AdminAuth) error {
	if err := h.svc.DeleteAdmin(r.Context(), chi.URLParam(r, "id")); err != nil {
		return err
	}
	render.JSON(w, http.StatusOK, wire.DeleteResponse{Status: "ok"})
	return nil
}
