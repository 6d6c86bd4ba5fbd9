// Package k8ssa is the K8sSA provisioner: Kubernetes service account tokens
// signed by one of the cluster's service-account signing keys, which the
// provisioner's publicKeys holds (wire-spec §4.8, §7.4).
//
// As step-ca (provisioner/k8sSA.go), a token must have the issuer
// "kubernetes/serviceaccount" (the legacy, secret-based service account
// tokens) and a subject; exp and nbf are checked with a minute of leeway
// when present (legacy tokens have neither); the audience is not checked.
// Projected service account tokens, whose issuer is the cluster's (e.g.
// https://kubernetes.default.svc), are not K8sSA tokens for step-ca: they
// route to no provisioner and are refused.
//
// The certificate is the request's (step-ca's default K8sSA template is the
// CSR: its subject and SANs), or the provisioner's options.x509 template
// with .Subject.CommonName the service account's name and .Token the
// token's claims.
//
// Single use (wire-spec §4.10; step-ca records no K8sSA token): a token
// with an expiry is used once, under token.ReuseKey (its jti, else the hash
// of what was signed); a token without one (a legacy secret token, a
// long-lived credential the pod presents every time it starts) is not
// recorded, as in step-ca, since recording it would make the service
// account's only credential usable once, forever.
package k8ssa

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"time"

	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/provisioner"
	"github.com/mayfly-pki/mayfly/provisioner/internal/base"
	"github.com/mayfly-pki/mayfly/provisioner/token"
	"github.com/mayfly-pki/mayfly/provisioner/validate"
	"github.com/mayfly-pki/mayfly/provisioner/webhook"
	"github.com/mayfly-pki/mayfly/templates"
)

const (
	// Issuer is the iss of the tokens a K8sSA provisioner accepts, and the
	// key they route by (wire-spec §4.8).
	Issuer = "kubernetes/serviceaccount"
	// DefaultName and TokenID are step-ca's K8sSAName and K8sSAID: the token
	// ID is constant, so a CA has at most one K8sSA provisioner.
	DefaultName = "k8sSA-default"
	TokenID     = "k8ssa/" + DefaultName

	// claimServiceAccount is the claim of a service account token naming
	// the account.
	claimServiceAccount = "kubernetes.io/serviceaccount/service-account.name"
)

type config struct {
	provisioner.Base
	// PublicKeys is the PEM bundle of the cluster's service-account
	// signing keys; in ca.json the base64 of it (a JSON []byte).
	PublicKeys []byte `json:"publicKeys"`
}

// Provisioner is a configured K8sSA provisioner.
type Provisioner struct {
	info      provisioner.Info
	keys      []any
	claims    provisioner.Resolved
	raw       json.RawMessage
	now       func() time.Time
	tmpl      *templates.X509Template
	custom    *provisioner.X509Template // options.x509, nil: the request's names
	modifiers []provisioner.CertModifier
	webhooks  *webhook.Set // nil: none
}

var (
	_ provisioner.Interface   = (*Provisioner)(nil)
	_ provisioner.Router      = (*Provisioner)(nil)
	_ provisioner.TokenReuser = (*Provisioner)(nil)
)

// New builds a K8sSA provisioner from its ca.json entry.
func New(raw json.RawMessage, cfg provisioner.Config) (provisioner.Interface, error) {
	var c config
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("invalid K8sSA provisioner: %w", err)
	}
	if c.Name == "" {
		return nil, errors.New("provisioner name cannot be empty")
	}
	if len(c.PublicKeys) == 0 {
		return nil, fmt.Errorf("K8sSA provisioner %q: publicKeys: K8s Service Account provisioner cannot be initialized without pub keys", c.Name)
	}
	keys, err := ParsePublicKeys(c.PublicKeys)
	if err != nil {
		return nil, fmt.Errorf("K8sSA provisioner %q: publicKeys: %w", c.Name, err)
	}
	info := provisioner.Info{ID: TokenID, Name: c.Name, Type: provisioner.TypeK8sSA}
	parts, err := base.Parse(info, c.Base, raw, cfg)
	if err != nil {
		return nil, err
	}
	claims, custom := parts.Claims, parts.X509
	admin, err := templates.ParseX509("", templates.DefaultAdminLeafTemplate)
	if err != nil {
		return nil, err
	}
	p := &Provisioner{
		info: info, keys: keys,
		claims: claims, raw: parts.Raw, now: cfg.Clock(), tmpl: admin, custom: custom,
		webhooks: parts.Webhooks,
	}
	if custom != nil && hasTemplate(c.Options) {
		p.tmpl = custom.Template()
	}
	if !claims.DisableSmallstepExtensions {
		ext, err := validate.NewExtension(p.info)
		if err != nil {
			return nil, fmt.Errorf("K8sSA provisioner %q: %w", c.Name, err)
		}
		p.modifiers = []provisioner.CertModifier{ext}
	}
	return p, nil
}

// hasTemplate reports whether options.x509 names a template (inline or
// file); templateData alone keeps the K8sSA default, the request's names.
func hasTemplate(options json.RawMessage) bool {
	var o struct {
		X509 *struct {
			Template     any `json:"template"`
			TemplateFile any `json:"templateFile"`
		} `json:"x509"`
	}
	if json.Unmarshal(options, &o) != nil || o.X509 == nil {
		return false
	}
	return o.X509.Template != nil && o.X509.Template != "" || o.X509.TemplateFile != nil && o.X509.TemplateFile != ""
}

// ParsePublicKeys reads every public key of a PEM bundle, as step-ca does:
// PKIX ("PUBLIC KEY"), PKCS #1 ("RSA PUBLIC KEY") or a certificate's key;
// RSA, ECDSA or Ed25519. At least one is required.
func ParsePublicKeys(b []byte) ([]any, error) {
	var keys []any
	for rest := b; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		var key any
		var err error
		switch block.Type {
		case "PUBLIC KEY":
			key, err = x509.ParsePKIXPublicKey(block.Bytes)
		case "RSA PUBLIC KEY":
			key, err = x509.ParsePKCS1PublicKey(block.Bytes)
		case "CERTIFICATE":
			var cert *x509.Certificate
			if cert, err = x509.ParseCertificate(block.Bytes); err == nil {
				key = cert.PublicKey
			}
		default:
			err = fmt.Errorf("unsupported PEM block %q", block.Type)
		}
		if err != nil {
			return nil, fmt.Errorf("error parsing public key %d: %w", len(keys)+1, err)
		}
		switch key.(type) {
		case *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey:
		default:
			return nil, fmt.Errorf("unexpected public key type %T", key)
		}
		keys = append(keys, key)
	}
	if len(keys) == 0 {
		return nil, errors.New("no PEM public keys found (publicKeys must be the base64 of a PEM bundle)")
	}
	return keys, nil
}

// Info implements provisioner.Interface.
func (p *Provisioner) Info() provisioner.Info { return p.info }

// TokenID implements provisioner.Interface: step-ca's constant K8sSA ID.
func (p *Provisioner) TokenID() string { return TokenID }

// RouteKeys implements provisioner.Router: tokens whose issuer is
// "kubernetes/serviceaccount" (wire-spec §4.8).
func (p *Provisioner) RouteKeys() []provisioner.RouteKey {
	return []provisioner.RouteKey{{Kind: provisioner.RouteIssuer, Value: Issuer}}
}

// Claims implements provisioner.Interface.
func (p *Provisioner) Claims() provisioner.Resolved { return p.claims }

// EncryptedKey implements provisioner.Interface: K8sSA has none.
func (p *Provisioner) EncryptedKey() (string, string, bool) { return "", "", false }

// JSON implements provisioner.Interface.
func (p *Provisioner) JSON() json.RawMessage { return p.raw }

// UsedKey implements provisioner.TokenReuser: a token with an expiry is
// used once; one without (legacy secret tokens) is not recorded.
func (p *Provisioner) UsedKey(tok *token.Token) (string, bool) {
	if tok.Claims.Expiry == nil {
		return "", false
	}
	return tok.ReuseKey(), true
}

// The messages of go-jose's jwt validation, which step-ca wraps.
const (
	errInvalidIssuer = "go-jose/go-jose/jwt: validation failed, invalid issuer claim (iss)"
	errExpired       = "go-jose/go-jose/jwt: validation failed, token is expired (exp)"
	errNotYetValid   = "go-jose/go-jose/jwt: validation failed, token not valid yet (nbf)"
	errFutureIAT     = "go-jose/go-jose/jwt: validation field, token issued in the future (iat)"
)

// authorize runs step-ca's checks of a K8sSA token (k8sSA.authorizeToken):
// the token is signed by one of the keys, its issuer is
// "kubernetes/serviceaccount", exp, nbf and iat hold with a minute of
// leeway when present, and it has a subject.
func (p *Provisioner) authorize(tok *token.Token) error {
	valid := false
	for _, k := range p.keys {
		if tok.Verify(k) == nil {
			valid = true
			break
		}
	}
	if !valid {
		return errs.Errorf(errs.Unauthorized, "k8ssa.authorizeToken; error validating k8sSA token and extracting claims")
	}
	c := &tok.Claims
	now := p.now()
	var bad string
	switch {
	case c.Issuer != Issuer:
		bad = errInvalidIssuer
	case c.NotBefore != nil && now.Add(token.Leeway).Before(c.NotBefore.Time()):
		bad = errNotYetValid
	case c.Expiry != nil && now.Add(-token.Leeway).After(c.Expiry.Time()):
		bad = errExpired
	case c.IssuedAt != nil && now.Add(token.Leeway).Before(c.IssuedAt.Time()):
		bad = errFutureIAT
	}
	if bad != "" {
		return errs.Errorf(errs.Unauthorized, "k8ssa.authorizeToken; invalid k8sSA token claims: %s", bad)
	}
	if c.Subject == "" {
		return errs.Errorf(errs.Unauthorized, "k8ssa.authorizeToken; k8sSA token subject cannot be empty")
	}
	return nil
}

// plan is one request's plan with the template it points to.
type plan struct {
	provisioner.X509Plan
	template provisioner.CertificateTemplate
}

// AuthorizeSign implements provisioner.Interface, as step-ca's K8sSA
// AuthorizeSign: no name checks against the token (the authority's policy
// still applies); the certificate is the request's unless options.x509 has
// a template, whose data has .Subject.CommonName the service account's
// name, .SANs empty, .Token the token's claims and the templateData.
func (p *Provisioner) AuthorizeSign(_ context.Context, tok *token.Token) (*provisioner.X509Plan, error) {
	if err := p.authorize(tok); err != nil {
		return nil, err
	}
	payload := provisioner.TokenPayload(tok)
	account, _ := payload[claimServiceAccount].(string)
	var data templates.X509Data
	if p.custom != nil {
		data = p.custom.Data(account, nil, tok)
	} else {
		data = templates.NewX509Data(account, nil)
		data.SetToken(payload)
	}
	pl := &plan{template: provisioner.CertificateTemplate{Template: p.tmpl, Data: data}}
	pl.X509Plan = provisioner.X509Plan{
		Info: p.info, Subject: tok.Claims.Subject, Claims: p.claims,
		Modifiers: p.modifiers, Template: &pl.template,
		Webhooks: p.webhooks.X509(webhook.Request{ProvisionerName: p.info.Name, Subject: account, Token: tok}),
	}
	return &pl.X509Plan, nil
}

// AuthorizeRevoke implements provisioner.Interface. As in step-ca the
// caller compares the serial with the token's subject, which for a service
// account token is the account (system:serviceaccount:<ns>:<name>).
func (p *Provisioner) AuthorizeRevoke(_ context.Context, tok *token.Token) error {
	return p.authorize(tok)
}

// AuthorizeRenew implements provisioner.Interface.
func (p *Provisioner) AuthorizeRenew(_ context.Context, cert *x509.Certificate) error {
	return provisioner.CheckRenewal(p.claims, p.info.Name, cert, p.now())
}
