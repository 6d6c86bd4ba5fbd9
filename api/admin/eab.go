package admin

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/mayfly-pki/mayfly/api/render"
	"github.com/mayfly-pki/mayfly/authority"
	adm "github.com/mayfly-pki/mayfly/authority/admin"
	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/provisioner"
)

// ACME external account binding keys (/admin/acme/eab/{prov}...), served
// when the store implements admin.EABStore.

// EABKey is linkedca.EABKey in protojson.
type EABKey struct {
	ID          string     `json:"id"`
	HMACKey     []byte     `json:"hmacKey,omitempty"`
	Provisioner string     `json:"provisioner"`
	Reference   string     `json:"reference,omitempty"`
	Account     string     `json:"account,omitempty"`
	CreatedAt   *time.Time `json:"createdAt,omitempty"`
	BoundAt     *time.Time `json:"boundAt,omitempty"`
}

// EABKeysResponse is the body of GET /admin/acme/eab/{prov}.
type EABKeysResponse struct {
	EAKs       []*EABKey `json:"eaks"`
	NextCursor string    `json:"nextCursor"`
}

// maxReferenceLen bounds an EAB key reference, as step-ca.
const maxReferenceLen = 256

// WithEAB mounts the EAB routes over st (Mount adds them).
func (h *Handler) WithEAB(st adm.EABStore) *Handler {
	h.eab = st
	return h
}

func (h *Handler) mountEAB(r chi.Router) {
	if h.eab == nil {
		return
	}
	r.Get("/admin/acme/eab/{prov}", h.wrap(h.listEAB))
	r.Get("/admin/acme/eab/{prov}/{ref}", h.wrap(h.listEAB))
	r.Post("/admin/acme/eab/{prov}", h.wrap(h.createEAB))
	r.Delete("/admin/acme/eab/{prov}/{id}", h.wrap(h.deleteEAB))
}

// acmeProvisioner returns the route's provisioner, which must be an ACME
// provisioner requiring EAB.
func acmeProvisioner(r *http.Request, a *authority.Authority) (provisioner.Info, error) {
	name := chi.URLParam(r, "prov")
	p, ok := a.Provisioners().ByName(name)
	if !ok {
		return provisioner.Info{}, errs.Exact(errs.NotFound, "provisioner "+name+" not found", nil)
	}
	info := p.Info()
	if info.Type != provisioner.TypeACME {
		return info, errs.Exact(errs.BadRequest, "provisioner "+name+" is not an ACME provisioner", nil)
	}
	var c struct {
		RequireEAB bool `json:"requireEAB"`
	}
	if json.Unmarshal(p.JSON(), &c) != nil || !c.RequireEAB {
		return info, errs.Exact(errs.BadRequest, "ACME EAB not enabled for provisioner "+name, nil)
	}
	return info, nil
}

func eabToWire(k *adm.EABKey, name string, withKey bool) *EABKey {
	created := k.CreatedAt
	out := &EABKey{ID: k.ID, Provisioner: name, Reference: k.Reference, Account: k.AccountID, CreatedAt: &created}
	if !k.BoundAt.IsZero() {
		bound := k.BoundAt
		out.BoundAt = &bound
	}
	if withKey {
		out.HMACKey = k.HMACKey
	}
	return out
}

func (h *Handler) listEAB(w http.ResponseWriter, r *http.Request, a *authority.Authority, _ *authority.AdminAuth) error {
	info, err := acmeProvisioner(r, a)
	if err != nil {
		return err
	}
	ref := chi.URLParam(r, "ref")
	keys, err := h.eab.ListExternalAccountKeys(r.Context(), info.ID, ref)
	if err != nil {
		return err
	}
	list, next, err := page(r, keys)
	if err != nil {
		return err
	}
	out := EABKeysResponse{EAKs: make([]*EABKey, 0, len(list)), NextCursor: next}
	for _, k := range list {
		out.EAKs = append(out.EAKs, eabToWire(k, info.Name, false))
	}
	render.JSON(w, http.StatusOK, out)
	return nil
}

func (h *Handler) createEAB(w http.ResponseWriter, r *http.Request, a *authority.Authority, _ *authority.AdminAuth) error {
	var body struct {
		Reference string `json:"reference"`
	}
	if err := decode(r, &body); err != nil {
		return err
	}
	if len(body.Reference) > maxReferenceLen {
		return errs.Exact(errs.BadRequest, fmt.Sprintf("reference length %d exceeds the maximum (%d)", len(body.Reference), maxReferenceLen), nil)
	}
	info, err := acmeProvisioner(r, a)
	if err != nil {
		return err
	}
	id, err := adm.NewID()
	if err != nil {
		return err
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return errs.E(errs.Internal, "error generating the EAB key", err)
	}
	k := &adm.EABKey{ID: id, ProvisionerID: info.ID, Reference: body.Reference, HMACKey: key, CreatedAt: time.Now().UTC().Truncate(time.Second)}
	if err := h.eab.CreateExternalAccountKey(r.Context(), k); err != nil {
		if errors.Is(err, adm.ErrReferenceExists) {
			return errs.Exact(errs.Conflict, "an ACME EAB key for provisioner '"+info.Name+"' with reference '"+body.Reference+"' already exists", err)
		}
		return err
	}
	render.JSON(w, http.StatusCreated, eabToWire(k, info.Name, true))
	return nil
}

func (h *Handler) deleteEAB(w http.ResponseWriter, r *http.Request, a *authority.Authority, _ *authority.AdminAuth) error {
	info, err := acmeProvisioner(r, a)
	if err != nil {
		return err
	}
	id := chi.URLParam(r, "id")
	if err := h.eab.DeleteExternalAccountKey(r.Context(), info.ID, id); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return errs.Exact(errs.NotFound, "ACME EAB key "+id+" not found", err)
		}
		return err
	}
	render.JSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}
