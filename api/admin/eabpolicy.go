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
	acmeprov "github.com/mayfly-pki/mayfly/provisioner/acme"
)

// The policy of an ACME EAB key (step-ca's /admin/acme/policy/{prov}/
// reference/{ref} and /key/{id}): stored on the key in the ACME tables and
// applied at new-order to the account bound with it. Codes as step-ca's:
// 404 for an unknown key or no policy (GET, PUT, DELETE), 409 on POST over
// one, 400 naming a rule that would not compile.

// policyKey returns the key ID and reference of the route (one is empty).
func policyKey(r *http.Request) (id, ref string) {
	return chi.URLParam(r, "id"), chi.URLParam(r, "ref")
}

func (h *EAB) getPolicy(w http.ResponseWriter, r *http.Request, p *acmeprov.Provisioner) error {
	id, ref := policyKey(r)
	raw, err := h.svc.EABKeyPolicy(r.Context(), p.Info().ID, id, ref)
	if err != nil {
		return err
	}
	if raw == nil {
		return errs.Exact(errs.NotFound, "ACME EAK policy does not exist", nil)
	}
	out, err := wire.PolicyFromConfig(raw)
	if err != nil {
		return errs.E(errs.Internal, "error decoding the stored policy", err)
	}
	render.JSON(w, http.StatusOK, out)
	return nil
}

func (h *EAB) setPolicy(create bool) eabFunc {
	return func(w http.ResponseWriter, r *http.Request, p *acmeprov.Provisioner) error {
		var body wire.Policy
		if err := decode(r, &body); err != nil {
			return err
		}
		if body.SSH != nil {
			// step-ca's ACME policies are X.509 only.
			return errs.Exact(errs.BadRequest, "ACME EAK policy cannot have SSH rules", nil)
		}
		raw, err := wire.PolicyToConfig(&body)
		if err != nil {
			return errs.Exact(errs.BadRequest, err.Error(), err)
		}
		if len(raw) > adm.MaxPolicySize {
			return errs.Exact(errs.BadRequest, fmt.Sprintf("policy is %d bytes long, the limit is %d", len(raw), adm.MaxPolicySize), nil)
		}
		if err := authority.ValidateProvisionerPolicy(raw); err != nil {
			return errs.Exact(errs.BadRequest, "error validating ACME EAK policy: "+err.Error(), err)
		}
		id, ref := policyKey(r)
		err = h.svc.EditEABKeyPolicy(r.Context(), p.Info().ID, id, ref, func(old json.RawMessage) (json.RawMessage, error) {
			switch {
			case create && old != nil:
				return nil, errs.Exact(errs.Conflict, "ACME EAK already has a policy", nil)
			case !create && old == nil:
				return nil, errs.Exact(errs.NotFound, "ACME EAK policy does not exist", nil)
			}
			return raw, nil
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

func (h *EAB) deletePolicy(w http.ResponseWriter, r *http.Request, p *acmeprov.Provisioner) error {
	id, ref := policyKey(r)
	err := h.svc.EditEABKeyPolicy(r.Context(), p.Info().ID, id, ref, func(old json.RawMessage) (json.RawMessage, error) {
		if old == nil {
			return nil, errs.Exact(errs.NotFound, "ACME EAK policy does not exist", nil)
		}
		return nil, nil
	})
	if err != nil {
		return err
	}
	render.JSON(w, http.StatusOK, wire.DeleteResponse{Status: "ok"})
	return nil
}
