package admin

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/mayfly-pki/mayfly/api/render"
	"github.com/mayfly-pki/mayfly/api/wire"
	"github.com/mayfly-pki/mayfly/authority"
	adm "github.com/mayfly-pki/mayfly/authority/admin"
	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/provisioner/webhook"
)

// Webhooks of stored provisioners (/admin/provisioners/{prov}/webhooks):
// each change rewrites the provisioner's options.webhooks through the
// change service. The server makes each webhook's secret, returned once,
// when it is created; reads never show secrets, bearer tokens or basic
// auth passwords.

// redactedWire is the linkedca form of a stored configuration without the
// webhooks' credentials.
func redactedWire(cfg json.RawMessage) (*wire.Provisioner, error) {
	red, err := webhook.Redact(cfg)
	if err != nil {
		return nil, errs.E(errs.Internal, "error encoding provisioner", err)
	}
	lp, err := wire.ProvisionerFromConfig(red)
	if err != nil {
		return nil, errs.E(errs.Internal, "error encoding provisioner", err)
	}
	return lp, nil
}

// keepWebhookSecrets copies the credentials of old's webhooks into the
// same-named webhooks of cfg that carry none (a client sends back what it
// read, which has them redacted).
func keepWebhookSecrets(old, cfg json.RawMessage) (json.RawMessage, error) {
	oldHooks, err := hooksOf(old)
	if err != nil {
		return nil, err
	}
	byName := map[string]*wire.Webhook{}
	for _, w := range oldHooks {
		byName[w.Name] = w
	}
	return editHooks(cfg, func(list []*wire.Webhook) ([]*wire.Webhook, error) {
		for _, w := range list {
			if o, ok := byName[w.Name]; ok {
				if w.Secret == "" {
					w.Secret = o.Secret
				}
				if w.BearerToken == nil && w.BasicAuth == nil {
					w.BearerToken, w.BasicAuth = o.BearerToken, o.BasicAuth
				}
				if w.ID == "" {
					w.ID = o.ID
				}
			}
		}
		return list, nil
	})
}

// hooksOf returns the options.webhooks of a provisioner configuration.
func hooksOf(cfg json.RawMessage) ([]*wire.Webhook, error) {
	var m struct {
		Options struct {
			Webhooks []json.RawMessage `json:"webhooks"`
		} `json:"options"`
	}
	if err := json.Unmarshal(cfg, &m); err != nil {
		return nil, errs.E(errs.Internal, "error decoding provisioner", err)
	}
	var out []*wire.Webhook
	for _, raw := range m.Options.Webhooks {
		w, err := wire.WebhookFromConfig(raw)
		if err != nil {
			return nil, errs.E(errs.Internal, "error decoding provisioner webhook", err)
		}
		out = append(out, w)
	}
	return out, nil
}

// editHooks returns cfg with options.webhooks replaced by edit's result,
// every other member kept.
func editHooks(cfg json.RawMessage, edit func([]*wire.Webhook) ([]*wire.Webhook, error)) (json.RawMessage, error) {
	hooks, err := hooksOf(cfg)
	if err != nil {
		return nil, err
	}
	if hooks, err = edit(hooks); err != nil {
		return nil, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(cfg, &m); err != nil {
		return nil, errs.E(errs.Internal, "error decoding provisioner", err)
	}
	opts := map[string]json.RawMessage{}
	if raw, ok := m["options"]; ok && string(raw) != "null" {
		if err := json.Unmarshal(raw, &opts); err != nil {
			return nil, errs.E(errs.Internal, "error decoding provisioner options", err)
		}
	}
	list := make([]json.RawMessage, len(hooks))
	for i, w := range hooks {
		list[i] = wire.WebhookToConfig(w)
	}
	if len(list) == 0 {
		delete(opts, "webhooks")
	} else if opts["webhooks"], err = json.Marshal(list); err != nil {
		return nil, err
	}
	if m["options"], err = json.Marshal(opts); err != nil {
		return nil, err
	}
	return json.Marshal(m)
}

func checkWebhook(w *wire.Webhook) error {
	switch {
	case strings.TrimSpace(w.Name) == "":
		return errs.Exact(errs.BadRequest, "webhook name is required", nil)
	case w.URL == "":
		return errs.Exact(errs.BadRequest, "webhook url is required", nil)
	case w.Kind == "":
		return errs.Exact(errs.BadRequest, "webhook kind is required", nil)
	case w.BearerToken != nil && w.BasicAuth != nil:
		return errs.Exact(errs.BadRequest, "webhook cannot have both a bearer token and basic auth", nil)
	}
	return nil
}

// storedProvisioner returns the stored provisioner of the route, refusing
// ca.json's.
func (h *Handler) storedProvisioner(r *http.Request, a *authority.Authority) (*adm.Provisioner, error) {
	name := chi.URLParam(r, "prov")
	if err := h.notInCAJSON(r, a, name); err != nil {
		return nil, err
	}
	recs, err := h.svc.Load(r.Context())
	if err != nil {
		return nil, err
	}
	p, ok := recs.ProvisionerByName(name)
	if !ok {
		return nil, errs.Exact(errs.NotFound, "provisioner "+name+" not found", nil)
	}
	return p, nil
}

func (h *Handler) createWebhook(w http.ResponseWriter, r *http.Request, a *authority.Authority, _ *authority.AdminAuth) error {
	var body wire.Webhook
	if err := decode(r, &body); err != nil {
		return err
	}
	if err := checkWebhook(&body); err != nil {
		return err
	}
	p, err := h.storedProvisioner(r, a)
	if err != nil {
		return err
	}
	secret := make([]byte, 64)
	if _, err := rand.Read(secret); err != nil {
		return errs.E(errs.Internal, "error generating the webhook secret", err)
	}
	id, err := adm.NewID()
	if err != nil {
		return err
	}
	body.ID, body.Secret = id, base64.StdEncoding.EncodeToString(secret)
	cfg, err := editHooks(p.Config, func(list []*wire.Webhook) ([]*wire.Webhook, error) {
		for _, o := range list {
			if o.Name == body.Name {
				return nil, errs.Exact(errs.Conflict, "provisioner "+p.Name+" already has a webhook with the name "+body.Name, nil)
			}
		}
		return append(list, &body), nil
	})
	if err != nil {
		return err
	}
	if _, err := h.svc.UpdateProvisioner(r.Context(), p.Name, cfg); err != nil {
		return err
	}
	render.JSON(w, http.StatusCreated, &body)
	return nil
}

func (h *Handler) updateWebhook(w http.ResponseWriter, r *http.Request, a *authority.Authority, _ *authority.AdminAuth) error {
	var body wire.Webhook
	if err := decode(r, &body); err != nil {
		return err
	}
	name := chi.URLParam(r, "name")
	if body.Name == "" {
		body.Name = name
	}
	if err := checkWebhook(&body); err != nil {
		return err
	}
	if body.Name != name {
		return errs.Exact(errs.BadRequest, "webhook name in the body does not match the URL", nil)
	}
	p, err := h.storedProvisioner(r, a)
	if err != nil {
		return err
	}
	var out *wire.Webhook
	cfg, err := editHooks(p.Config, func(list []*wire.Webhook) ([]*wire.Webhook, error) {
		for i, o := range list {
			if o.Name == name {
				body.ID, body.Secret = o.ID, o.Secret
				if body.BearerToken == nil && body.BasicAuth == nil {
					body.BearerToken, body.BasicAuth = o.BearerToken, o.BasicAuth
				}
				list[i], out = &body, &body
				return list, nil
			}
		}
		return nil, errs.Exact(errs.NotFound, "provisioner "+p.Name+" has no webhook with the name "+name, nil)
	})
	if err != nil {
		return err
	}
	if _, err := h.svc.UpdateProvisioner(r.Context(), p.Name, cfg); err != nil {
		return err
	}
	redacted := *out
	redacted.Secret, redacted.BearerToken, redacted.BasicAuth = "", nil, nil
	render.JSON(w, http.StatusOK, &redacted)
	return nil
}

func (h *Handler) deleteWebhook(w http.ResponseWriter, r *http.Request, a *authority.Authority, _ *authority.AdminAuth) error {
	name := chi.URLParam(r, "name")
	p, err := h.storedProvisioner(r, a)
	if err != nil {
		return err
	}
	cfg, err := editHooks(p.Config, func(list []*wire.Webhook) ([]*wire.Webhook, error) {
		for i, o := range list {
			if o.Name == name {
				return append(list[:i:i], list[i+1:]...), nil
			}
		}
		return nil, errs.Exact(errs.NotFound, "provisioner "+p.Name+" has no webhook with the name "+name, nil)
	})
	if err != nil {
		return err
	}
	if _, err := h.svc.UpdateProvisioner(r.Context(), p.Name, cfg); err != nil {
		return err
	}
	render.JSON(w, http.StatusOK, wire.DeleteResponse{Status: "ok"})
	return nil
}
