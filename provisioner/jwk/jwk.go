// Package jwk is the JWK provisioner: one-time tokens signed by a key whose
// public half is in ca.json (wire-spec §4.1).
package jwk

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/provisioner"
	"github.com/mayfly-pki/mayfly/provisioner/token"
	"github.com/mayfly-pki/mayfly/provisioner/validate"
	"github.com/mayfly-pki/mayfly/provisioner/webhook"
)

type config struct {
	provisioner.Base
	Key          *jose.JSONWebKey `json:"key"`
	EncryptedKey string           `json:"encryptedKey,omitempty"`
}

// Provisioner is a configured JWK provisioner.
type Provisioner struct {
	info         provisioner.Info
	key          *jose.JSONWebKey
	encryptedKey string
	claims       provisioner.Resolved
	raw          json.RawMessage
	audiences    provisioner.Audiences
	now          func() time.Time
	x509         *provisioner.X509Template // nil: the default leaf
	webhooks     *webhook.Set              // nil: none
	// modifiers are the same for every plan: the provisioner extension,
	// unless claims.disableSmallstepExtensions. Built once.
	modifiers []provisioner.CertModifier
}

// plan is one request's plan with the options it points to, allocated
// together.
type plan struct {
	provisioner.X509Plan
	names      validate.Names
	validators [2]provisioner.CSRValidator
}

var (
	_ provisioner.Interface  = (*Provisioner)(nil)
	_ provisioner.TokenKeyer = (*Provisioner)(nil)
)

// New builds a JWK provisioner from its ca.json entry.
func New(raw json.RawMessage, cfg provisioner.Config) (provisioner.Interface, error) {
	var c config
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("invalid JWK provisioner: %w", err)
	}
	if c.Name == "" {
		return nil, fmt.Errorf("provisioner name cannot be empty")
	}
	if c.Key == nil || c.Key.Key == nil {
		return nil, fmt.Errorf("JWK provisioner %q: key cannot be empty", c.Name)
	}
	if !c.Key.IsPublic() {
		return nil, fmt.Errorf("JWK provisioner %q: key must be a public key", c.Name)
	}
	if c.Key.KeyID == "" {
		return nil, fmt.Errorf("JWK provisioner %q: key has no kid", c.Name)
	}
	claims := c.Claims.Merge(cfg.Claims)
	if err := claims.Validate(); err != nil {
		return nil, fmt.Errorf("JWK provisioner %q: claims: %w", c.Name, err)
	}
	tmpl, err := provisioner.ParseX509Template(c.Options, cfg.StepPath)
	if err != nil {
		return nil, fmt.Errorf("JWK provisioner %q: %w", c.Name, err)
	}
	hooks, err := webhook.Parse(c.Options, cfg)
	if err != nil {
		return nil, fmt.Errorf("JWK provisioner %q: %w", c.Name, err)
	}
	now := cfg.Clock()
	compact := new(bytes.Buffer)
	if err := json.Compact(compact, raw); err != nil {
		return nil, err
	}
	p := &Provisioner{
		info: provisioner.Info{
			ID: c.Name + ":" + c.Key.KeyID, Name: c.Name, Type: provisioner.TypeJWK, CredentialID: c.Key.KeyID,
		},
		key: c.Key, encryptedKey: c.EncryptedKey, claims: claims, raw: compact.Bytes(),
		audiences: cfg.Audiences, now: now, x509: tmpl, webhooks: hooks,
	}
	if !claims.DisableSmallstepExtensions {
		ext, err := validate.NewExtension(p.info)
		if err != nil {
			return nil, fmt.Errorf("JWK provisioner %q: %w", c.Name, err)
		}
		p.modifiers = []provisioner.CertModifier{ext}
	}
	return p, nil
}

// Info implements provisioner.Interface.
func (p *Provisioner) Info() provisioner.Info { return p.info }

// TokenID implements provisioner.Interface: "<name>:<kid>".
func (p *Provisioner) TokenID() string { return p.info.ID }

// Claims implements provisioner.Interface.
func (p *Provisioner) Claims() provisioner.Resolved { return p.claims }

// EncryptedKey implements provisioner.Interface.
func (p *Provisioner) EncryptedKey() (string, string, bool) {
	return p.key.KeyID, p.encryptedKey, p.encryptedKey != ""
}

// TokenKeys implements provisioner.TokenKeyer: the provisioner's key.
func (p *Provisioner) TokenKeys() []*jose.JSONWebKey { return []*jose.JSONWebKey{p.key} }

// JSON implements provisioner.Interface.
func (p *Provisioner) JSON() json.RawMessage { return p.raw }

// authorize runs the checks common to every JWK token.
func (p *Provisioner) authorize(tok *token.Token, purpose provisioner.Purpose) error {
	if err := tok.Verify(p.key); err != nil {
		return errs.E(errs.Unauthorized, "jwk.authorizeToken; error parsing jwk token", err)
	}
	c := &tok.Claims
	if c.Issuer != p.info.Name {
		return errs.Errorf(errs.Unauthorized, "jwk.authorizeToken; invalid jwk token issuer %q", c.Issuer)
	}
	if !p.audiences.Match(purpose, c.Audience, "") {
		return errs.Errorf(errs.Unauthorized, "jwk.authorizeToken; invalid jwk token audience %v", []string(c.Audience))
	}
	if err := c.ValidateTime(p.now()); err != nil {
		return errs.E(errs.Unauthorized, "jwk.authorizeToken; invalid jwk claims", err)
	}
	if c.Subject == "" {
		return errs.Errorf(errs.Unauthorized, "jwk.authorizeToken; jwk token subject cannot be empty")
	}
	return nil
}

// AuthorizeSign implements provisioner.Interface: the CSR's names must be
// the token's subject and SANs (sans defaults to [sub]), its DER the token's
// cnf fingerprint when there is one; the certificate gets the provisioner
// extension and the template, if any (wire-spec §4.1, §5.1).
func (p *Provisioner) AuthorizeSign(_ context.Context, tok *token.Token) (*provisioner.X509Plan, error) {
	if err := p.authorize(tok, provisioner.PurposeSign); err != nil {
		return nil, err
	}
	c := &tok.Claims
	sans := c.SANs
	if len(sans) == 0 {
		sans = []string{c.Subject}
	}
	pl := &plan{names: validate.Names{Subject: c.Subject, SANs: sans}}
	pl.validators[0] = &pl.names
	n := 1
	if c.Cnf != nil && c.Cnf.X5rtS256 != "" {
		pl.validators[1] = validate.CSRFingerprint(c.Cnf.X5rtS256)
		n++
	}
	pl.X509Plan = provisioner.X509Plan{
		Info: p.info, Subject: c.Subject, SANs: sans, Claims: p.claims,
		Validators: pl.validators[:n], Modifiers: p.modifiers,
		Webhooks: p.webhooks.X509(webhook.Request{ProvisionerName: p.info.Name, Subject: c.Subject, SANs: sans, Token: tok}),
	}
	if p.x509 != nil {
		pl.Template = p.x509.ForRequest(c.Subject, sans, tok)
	}
	return &pl.X509Plan, nil
}

// AuthorizeRevoke implements provisioner.Interface.
func (p *Provisioner) AuthorizeRevoke(_ context.Context, tok *token.Token) error {
	return p.authorize(tok, provisioner.PurposeRevoke)
}

// AuthorizeAdmin implements provisioner.AdminAuthorizer.
func (p *Provisioner) AuthorizeAdmin(_ context.Context, tok *token.Token) error {
	return p.authorize(tok, provisioner.PurposeAdmin)
}

// AuthorizeRenew implements provisioner.Interface.
func (p *Provisioner) AuthorizeRenew(_ context.Context, cert *x509.Certificate) error {
	return provisioner.CheckRenewal(p.claims, p.info.Name, cert, p.now())
}
