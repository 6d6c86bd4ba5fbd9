package admin

import (
	"net/http"

	"github.com/mayfly-pki/mayfly/api/render"
	"github.com/mayfly-pki/mayfly/api/wire"
	"github.com/mayfly-pki/mayfly/authority"
	adm "github.com/mayfly-pki/mayfly/authority/admin"
	"github.com/mayfly-pki/mayfly/internal/errs"
)

// The authority policy (/admin/policy): stored in the admin tables, it
// replaces ca.json's authority.policy while it exists. Reading needs an
// admin; changing it a super admin.

func requireSuper(who *authority.AdminAuth) error {
	if who == nil || who.Admin.Type != adm.TypeSuper {
		return errs.Exact(errs.Unauthorized, "must have super admin access to make this request", nil)
	}
	return nil
}

func (h *Handler) getPolicy(w http.ResponseWriter, r *http.Request, _ *authority.Authority, _ *authority.AdminAuth) error {
	recs, err := h.svc.Load(r.Context())
	if err != nil {
		return err
	}
	if recs.Policy == nil {
		return errs.Exact(errs.NotFound, "authority policy does not exist", nil)
	}
	p, err := wire.PolicyFromConfig(recs.Policy)
	if err != nil {
		return errs.E(errs.Internal, "error decoding the stored policy", err)
	}
	render.JSON(w, http.StatusOK, p)
	return nil
}

func (h *Handler) setPolicy(create bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, _ *authority.Authority, who *authority.AdminAuth) error {
		if err := requireSuper(who); err != nil {
			return err
		}
		var p wire.Policy
		if err := decode(r, &p); err != nil {
			return err
		}
		raw, err := wire.PolicyToConfig(&p)
		if err != nil {
			return errs.Exact(errs.BadRequest, err.Error(), err)
		}
		if err := h.svc.SetPolicy(r.Context(), raw, create); err != nil {
			return err
		}
		status := http.StatusOK
		if create {
			status = http.StatusCreated
		}
		out, _ := wire.PolicyFromConfig(raw)
		render.JSON(w, status, out)
		return nil
	}
}

func (h *Handler) deletePolicy(w http.ResponseWriter, r *http.Request, _ *authority.Authority, who *authority.AdminAuth) error {
	if err := requireSuper(who); err != nil {
		return err
	}
	if err := h.svc.DeletePolicy(r.Context()); err != nil {
		return err
	}
	render.JSON(w, http.StatusOK, wire.DeleteResponse{Status: "ok"})
	return nil
}
