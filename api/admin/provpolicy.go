package admin

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/mayfly-pki/mayfly/api/render"
	"github.com/mayfly-pki/mayfly/api/wire"
	"github.com/mayfly-pki/mayfly/authority"
	adm "github.com/mayfly-pki/mayfly/authority/admin"
	"github.com/mayfly-pki/mayfly/internal/errs"
)

// A provisioner's policy (/admin/provisioners/{name}/policy), as step-ca's:
// stored as the "policy" of the provisioner's configuration (ca.json's
// entry form, the shape of authority.policy) in its record, so that it
// reaches the other nodes and every reload with the provisioner. Reading
// and changing it need an admin, as the provisioner's other settings.

// provisionerPolicyOf returns the "policy" member of cfg, nil when none.
func provisionerPolicyOf(cfg json.RawMessage) (json.RawMessage, error) {
	var m struct {
		Policy json.RawMessage `json:"policy"`
	}
	if err := json.Unmarshal(cfg, &m); err != nil {
		return nil, errs.E(errs.Internal, "error decoding provisioner", err)
	}
	if len(m.Policy) == 0 || string(m.Policy) == "null" {
		return nil, nil
	}
	return m.Policy, nil
}

// withProvisionerPolicy returns cfg with its "policy" member set to p, or
// removed when p is nil; every other member is kept.
func withProvisionerPolicy(cfg, p json.RawMessage) (json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(cfg, &m); err != nil {
		return nil, errs.E(errs.Internal, "error decoding provisioner", err)
	}
	if p == nil {
		delete(m, "policy")
	} else {
		m["policy"] = p
	}
	return json.Marshal(m)
}

// keepProvisionerPolicy keeps old's policy when cfg, an update of the
// provisioner from a client that may not know policies, has none: the
// policy is removed with DELETE /admin/provisioners/{name}/policy.
func keepProvisionerPolicy(old, cfg json.RawMessage) (json.RawMessage, error) {
	p, err := provisionerPolicyOf(old)
	if err != nil || p == nil {
		return cfg, err
	}
	if cur, err := provisionerPolicyOf(cfg); err != nil || cur != nil {
		return cfg, err
	}
	return withProvisionerPolicy(cfg, p)
}

func (h *Handler) getProvisionerPolicy(w http.ResponseWriter, r *http.Request, a *authority.Authority, _ *authority.AdminAuth) error {
	name := chi.URLParam(r, "name")
	recs, err := h.svc.Load(r.Context())
	if err != nil {
		return err
	}
	var cfg json.RawMessage
	if rec, ok := recs.ProvisionerByName(name); ok {
		cfg = rec.Config
	} else if p, ok := a.Provisioners().ByName(name); ok {
		cfg = p.JSON()
	} else {
		return errs.Exact(errs.NotFound, "provisioner "+name+" not found", nil)
	}
	raw, err := provisionerPolicyOf(cfg)
	if err != nil {
		return err
	}
	if raw == nil {
		return errs.Exact(errs.NotFound, "provisioner policy does not exist", nil)
	}
	p, err := wire.PolicyFromConfig(raw)
	if err != nil {
		return errs.E(errs.Internal, "error decoding the stored policy", err)
	}
	render.JSON(w, http.StatusOK, p)
	return nil
}

// setProvisionerPolicy is POST (create) and PUT: 409 when POST finds a
// policy, 404 when PUT finds none; a policy the authority would not
// compile is a 400 naming the rule and the value, and nothing changes.
func (h *Handler) setProvisionerPolicy(create bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, a *authority.Authority, _ *authority.AdminAuth) error {
		name := chi.URLParam(r, "name")
		var p wire.Policy
		if err := decode(r, &p); err != nil {
			return err
		}
		raw, err := wire.PolicyToConfig(&p)
		if err != nil {
			return errs.Exact(errs.BadRequest, err.Error(), err)
		}
		if len(raw) > adm.MaxPolicySize {
			return errs.Exact(errs.BadRequest, fmt.Sprintf("policy is %d bytes long, the limit is %d", len(raw), adm.MaxPolicySize), nil)
		}
		if err := authority.ValidateProvisionerPolicy(raw); err != nil {
			return errs.Exact(errs.BadRequest, "error validating provisioner "+name+" policy: "+err.Error(), err)
		}
		if err := h.storedProvisionerNamed(r, a, name); err != nil {
			return err
		}
		_, err = h.svc.EditProvisioner(r.Context(), name, func(cfg json.RawMessage) (json.RawMessage, error) {
			old, err := provisionerPolicyOf(cfg)
			if err != nil {
				return nil, err
			}
			switch {
			case create && old != nil:
				return nil, errs.Exact(errs.Conflict, "provisioner "+name+" already has a policy", nil)
			case !create && old == nil:
				return nil, errs.Exact(errs.NotFound, "provisioner policy does not exist", nil)
			}
			return withProvisionerPolicy(cfg, raw)
		})
		if err != nil {
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

func (h *Handler) deleteProvisionerPolicy(w http.ResponseWriter, r *http.Request, a *authority.Authority, _ *authority.AdminAuth) error {
	name := chi.URLParam(r, "name")
	if err := h.storedProvisionerNamed(r, a, name); err != nil {
		return err
	}
	_, err := h.svc.EditProvisioner(r.Context(), name, func(cfg json.RawMessage) (json.RawMessage, error) {
		old, err := provisionerPolicyOf(cfg)
		if err != nil {
			return nil, err
		}
		if old == nil {
			return nil, errs.Exact(errs.NotFound, "provisioner policy does not exist", nil)
		}
		return withProvisionerPolicy(cfg, nil)
	})
	if err != nil {
		return err
	}
	render.JSON(w, http.StatusOK, wire.DeleteResponse{Status: "ok"})
	return nil
}

// storedProvisionerNamed refuses a provisioner of ca.json (400) and an
// unknown one (404).
func (h *Handler) storedProvisionerNamed(r *http.Request, a *authority.Authority, name string) error {
	if err := h.notInCAJSON(r, a, name); err != nil {
		return err
	}
	recs, err := h.svc.Load(r.Context())
	if err != nil {
		return err
	}
	if _, ok := recs.ProvisionerByName(name); !ok {
		return errs.Exact(errs.NotFound, "provisioner "+name+" not found", nil)
	}
	return nil
}
