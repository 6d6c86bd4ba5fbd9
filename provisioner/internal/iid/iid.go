// Package iid holds what the cloud instance identity provisioners (GCP,
// Azure, AWS) share: their claims, templates (options.x509, else step-ca's
// IID leaf), webhooks and served JSON, and the last part of their plans (the
// provisioner extension, the template and the webhooks). Each type keeps
// what is its own: the identity document or token, its checks and its names.
package iid

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"time"

	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/provisioner"
	"github.com/mayfly-pki/mayfly/provisioner/internal/base"
	"github.com/mayfly-pki/mayfly/provisioner/token"
	"github.com/mayfly-pki/mayfly/provisioner/validate"
	"github.com/mayfly-pki/mayfly/provisioner/webhook"
	"github.com/mayfly-pki/mayfly/templates"
)

// Common is the shared part of a configured cloud identity provisioner,
// immutable after New and safe for concurrent use. Embedded, it provides
// Info, Claims, EncryptedKey, JSON and AuthorizeRenew.
type Common struct {
	info     provisioner.Info
	claims   provisioner.Resolved
	raw      json.RawMessage
	now      func() time.Time
	x509     *provisioner.X509Template // options.x509; nil: leaf
	leaf     *templates.X509Template   // step-ca's IID leaf template
	webhooks *webhook.Set              // nil: none
}

// New builds the shared part of the provisioner info describes from its
// ca.json entry raw, whose common fields are b. Errors name the
// provisioner ("GCP provisioner \"name\": ...").
func New(info provisioner.Info, b provisioner.Base, raw json.RawMessage, cfg provisioner.Config) (*Common, error) {
	parts, err := base.Parse(info, b, raw, cfg)
	if err != nil {
		return nil, err
	}
	leaf, err := templates.ParseX509("", templates.DefaultIIDLeafTemplate)
	if err != nil {
		return nil, err
	}
	return &Common{
		info: info, claims: parts.Claims, raw: parts.Raw, now: cfg.Clock(),
		x509: parts.X509, leaf: leaf, webhooks: parts.Webhooks,
	}, nil
}

// Info implements provisioner.Interface.
func (c *Common) Info() provisioner.Info { return c.info }

// Claims implements provisioner.Interface.
func (c *Common) Claims() provisioner.Resolved { return c.claims }

// EncryptedKey implements provisioner.Interface: the cloud types have none.
func (c *Common) EncryptedKey() (string, string, bool) { return "", "", false }

// JSON implements provisioner.Interface: the ca.json entry, compacted.
func (c *Common) JSON() json.RawMessage { return c.raw }

// Now is the provisioner's clock.
func (c *Common) Now() time.Time { return c.now() }

// AuthorizeRenew implements provisioner.Interface.
func (c *Common) AuthorizeRenew(_ context.Context, cert *x509.Certificate) error {
	return provisioner.CheckRenewal(c.claims, c.info.Name, cert, c.now())
}

// Plan is the plan for an instance's certificate: subject and sans, the
// type's validators, the provisioner extension (unless
// disableSmallstepExtensions) with credentialID and the key-value pairs kv,
// the template (options.x509, else step-ca's IID leaf) and the webhooks.
func (c *Common) Plan(tok *token.Token, subject string, sans []string, validators []provisioner.CSRValidator, credentialID string, kv ...string) (*provisioner.X509Plan, error) {
	plan := &provisioner.X509Plan{
		Info: c.info, Subject: subject, SANs: sans, Claims: c.claims, Validators: validators,
		Webhooks: c.webhooks.X509(webhook.Request{ProvisionerName: c.info.Name, Subject: subject, SANs: sans, Token: tok}),
	}
	if !c.claims.DisableSmallstepExtensions {
		info := c.info
		info.CredentialID = credentialID
		ext, err := validate.NewExtension(info, kv...)
		if err != nil {
			return nil, errs.E(errs.Internal, "iid.Plan", err)
		}
		plan.Modifiers = []provisioner.CertModifier{ext}
	}
	if c.x509 != nil {
		plan.Template = c.x509.ForRequest(subject, sans, tok)
	} else {
		data := templates.NewX509Data(subject, sans)
		data.SetToken(provisioner.TokenPayload(tok))
		plan.Template = &provisioner.CertificateTemplate{Template: c.leaf, Data: data}
	}
	return plan, nil
}
