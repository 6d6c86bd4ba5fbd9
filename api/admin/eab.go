package admin

import (
	"encoding/base64"
	"errors"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/mayfly-pki/mayfly/api/render"
	"github.com/mayfly-pki/mayfly/authority"
	"github.com/mayfly-pki/mayfly/authority/acme"
	"github.com/mayfly-pki/mayfly/internal/errs"
	acmeprov "github.com/mayfly-pki/mayfly/provisioner/acme"
)

// EAB serves step-ca's ACME external account key routes behind the admin
// token Middleware: GET and POST /admin/acme/eab/{provisioner}, DELETE
// /admin/acme/eab/{provisioner}/{id}. Keys live in the ACME tables
// (authority/acme).
type EAB struct {
	d   Deps
	svc *acme.Service
}

// NewEAB returns the EAB routes over svc.
func NewEAB(d Deps, svc *acme.Service) *EAB { return &EAB{d: d, svc: svc} }

// Mount adds the routes to r.
func (h *EAB) Mount(r chi.Router) {
	r.Group(func(r chi.Router) {
		r.Use(Middleware(h.d))
		r.Get("/admin/acme/eab/{prov}", h.wrap(h.list))
		r.Get("/admin/acme/eab/{prov}/{ref}", h.wrap(h.list))
		r.Post("/admin/acme/eab/{prov}", h.wrap(h.add))
		r.Delete("/admin/acme/eab/{prov}/{id}", h.wrap(h.remove))
		for _, by := range []string{"reference/{ref}", "key/{id}"} {
			path := "/admin/acme/policy/{prov}/" + by
			r.Get(path, h.wrapLimit(MaxBodySize, h.getPolicy))
			r.Post(path, h.wrapLimit(MaxBodySize, h.setPolicy(true)))
			r.Put(path, h.wrapLimit(MaxBodySize, h.setPolicy(false)))
			r.Delete(path, h.wrapLimit(MaxBodySize, h.deletePolicy))
		}
	})
}

// EABKey is linkedca's EABKey in JSON: what step reads.
type EABKey struct {
	ID          string     `json:"id"`
	HmacKey     string     `json:"hmacKey,omitempty"`
	Provisioner string     `json:"provisioner"`
	Reference   string     `json:"reference,omitempty"`
	Account     string     `json:"account,omitempty"`
	CreatedAt   time.Time  `json:"createdAt"`
	BoundAt     *time.Time `json:"boundAt,omitempty"`
}

func toWire(name string, k *acme.EABKey) EABKey {
	w := EABKey{ID: k.ID, Provisioner: name, Reference: k.Reference, Account: k.AccountID, CreatedAt: k.CreatedAt}
	if len(k.HmacKey) > 0 {
		w.HmacKey = base64.StdEncoding.EncodeToString(k.HmacKey)
	}
	if !k.BoundAt.IsZero() {
		b := k.BoundAt
		w.BoundAt = &b
	}
	return w
}

type eabFunc func(w http.ResponseWriter, r *http.Request, p *acmeprov.Provisioner) error

// wrap resolves the ACME provisioner (which must require EAB, as step-ca's)
// and renders errors as the admin API's.
func (h *EAB) wrap(fn eabFunc) http.HandlerFunc { return h.wrapLimit(4<<10, fn) }

// wrapLimit is wrap with bodies bounded to limit bytes.
func (h *EAB) wrapLimit(limit int64, fn eabFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, limit)
		}
		a := h.d.Authority()
		err := h.serve(w, r, a, fn)
		auditChange(r, a, err)
		if err != nil {
			h.d.logRefusal(r, err)
			WriteError(w, adminError(err))
		}
	}
}

func (h *EAB) serve(w http.ResponseWriter, r *http.Request, a *authority.Authority, fn eabFunc) error {
	name := chi.URLParam(r, "prov")
	p, ok := a.Provisioners().ByName(name)
	if !ok {
		return errs.Exact(errs.NotFound, "provisioner "+name+" not found", nil)
	}
	ap, ok := p.(*acmeprov.Provisioner)
	if !ok {
		return errs.Exact(errs.BadRequest, "provisioner "+name+" is not of type ACME", nil)
	}
	if !ap.RequireEAB() {
		return errs.Exact(errs.BadRequest, "ACME EAB not enabled for provisioner "+name, nil)
	}
	return fn(w, r, ap)
}

// adminError turns an ACME problem into a classified error.
func adminError(err error) error {
	var p *acme.Error
	if !errors.As(err, &p) {
		return err
	}
	switch p.Type {
	case acme.NotFound:
		return errs.Exact(errs.NotFound, p.Detail, err)
	case acme.Malformed:
		return errs.Exact(errs.BadRequest, p.Detail, err)
	}
	return err
}

func (h *EAB) list(w http.ResponseWriter, r *http.Request, p *acmeprov.Provisioner) error {
	keys, err := h.svc.EABKeys(r.Context(), p.Info().ID, chi.URLParam(r, "ref"))
	if err != nil {
		return err
	}
	out := make([]EABKey, 0, len(keys))
	for _, k := range keys {
		out = append(out, toWire(p.Info().Name, k))
	}
	render.JSON(w, http.StatusOK, map[string]any{"eaks": out, "nextCursor": ""})
	return nil
}

func (h *EAB) add(w http.ResponseWriter, r *http.Request, p *acmeprov.Provisioner) error {
	var body struct {
		Reference string `json:"reference"`
	}
	if err := decode(r, &body); err != nil {
		return err
	}
	k, err := h.svc.AddEABKey(r.Context(), p.Info().ID, body.Reference)
	if err != nil {
		return err
	}
	render.JSON(w, http.StatusCreated, toWire(p.Info().Name, k))
	return nil
}

func (h *EAB) remove(w http.ResponseWriter, r *http.Request, p *acmeprov.Provisioner) error {
	if err := h.svc.RemoveEABKey(r.Context(), p.Info().ID, chi.URLParam(r, "id")); err != nil {
		return err
	}
	render.JSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}
