// Package oidc is the OIDC provisioner: a certificate for the identity in an
// OpenID Connect ID token signed by the configured provider (wire-spec §4.8,
// §4.10, §5.1, §7.4).
//
// The provider's discovery document and keys are read in the background
// (Run), never on a request: a token is checked against the keys last read,
// and a token whose kid is unknown asks for a refresh (at most one per
// Tuning.MinForced) and waits for it at most Tuning.Wait, as a request does
// for the first read after a start or reload. A provider that cannot be
// read fails OIDC requests at once (Unavailable, with the reason), as do
// keys older than Tuning.MaxAge; other provisioners are not affected.
//
// Single use (wire-spec §4.10): step-ca keys used_ott by the ID token's
// nonce; Mayfly keys it like any token (token.ReuseKey: the issuer and jti
// when there is a jti, else the signed bytes), so one ID token is used once
// however it is encoded, and two ID tokens that share a nonce are not
// confused.
package oidc

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
	"github.com/sirupsen/logrus"

	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/provisioner"
	"github.com/mayfly-pki/mayfly/provisioner/token"
	"github.com/mayfly-pki/mayfly/provisioner/validate"
	"github.com/mayfly-pki/mayfly/templates"
)

type config struct {
	provisioner.Base
	ClientID              string   `json:"clientID"`
	ClientSecret          string   `json:"clientSecret"`
	ConfigurationEndpoint string   `json:"configurationEndpoint"`
	TenantID              string   `json:"tenantID,omitempty"`
	Admins                []string `json:"admins,omitempty"`
	Domains               []string `json:"domains,omitempty"`
	Groups                []string `json:"groups,omitempty"`
	ListenAddress         string   `json:"listenAddress,omitempty"`
	Scopes                []string `json:"scopes,omitempty"`
	AuthParams            []string `json:"authParams,omitempty"`
}

// payload is the part of an ID token the provisioner reads besides the
// registered claims (step-ca's openIDPayload).
type payload struct {
	Issuer          string         `json:"iss"`
	Subject         string         `json:"sub"`
	Audience        token.Audience `json:"aud"`
	AuthorizedParty string         `json:"azp"`
	Email           string         `json:"email"`
	EmailVerified   bool           `json:"email_verified"`
	Nonce           string         `json:"nonce"`
	Groups          []string       `json:"groups"`
}

// Provisioner is a configured OIDC provisioner.
type Provisioner struct {
	info    provisioner.Info
	c       config
	claims  provisioner.Resolved
	raw     json.RawMessage
	now     func() time.Time
	x509    *provisioner.X509Template // nil: the default leaf
	admin   *templates.X509Template   // the CSR's names, for admins without a template
	mods    []provisioner.CertModifier
	tuning  Tuning
	fetcher *fetcher
	cache   *keyCache
	log     logrus.FieldLogger
	admins  []string // sanitized emails and group names
	domains []string // lower case
}

var (
	_ provisioner.Interface = (*Provisioner)(nil)
	_ provisioner.Runner    = (*Provisioner)(nil)
	_ provisioner.Router    = (*Provisioner)(nil)

	_ provisioner.AnySerialRevoker = (*Provisioner)(nil)
)

// New builds an OIDC provisioner from its ca.json entry, with the default
// Tuning.
func New(raw json.RawMessage, cfg provisioner.Config) (provisioner.Interface, error) {
	return NewWithTuning(raw, cfg, Tuning{})
}

// NewWithTuning is New with the refresh timings t.
func NewWithTuning(raw json.RawMessage, cfg provisioner.Config, t Tuning) (*Provisioner, error) {
	var c config
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("invalid OIDC provisioner: %w", err)
	}
	switch {
	case c.Name == "":
		return nil, errors.New("provisioner name cannot be empty")
	case c.ClientID == "":
		return nil, fmt.Errorf("OIDC provisioner %q: clientID cannot be empty", c.Name)
	case c.ConfigurationEndpoint == "":
		return nil, fmt.Errorf("OIDC provisioner %q: configurationEndpoint cannot be empty", c.Name)
	}
	if c.ListenAddress != "" {
		if _, _, err := net.SplitHostPort(c.ListenAddress); err != nil {
			return nil, fmt.Errorf("OIDC provisioner %q: error parsing listenAddress: %w", c.Name, err)
		}
	}
	disc, err := discoveryURL(c.ConfigurationEndpoint)
	if err != nil {
		return nil, fmt.Errorf("OIDC provisioner %q: configurationEndpoint: %w", c.Name, err)
	}
	claims := c.Claims.Merge(cfg.Claims)
	if err := claims.Validate(); err != nil {
		return nil, fmt.Errorf("OIDC provisioner %q: claims: %w", c.Name, err)
	}
	tmpl, err := provisioner.ParseX509Template(c.Options, cfg.StepPath)
	if err != nil {
		return nil, fmt.Errorf("OIDC provisioner %q: %w", c.Name, err)
	}
	admin, err := templates.ParseX509("admin", templates.DefaultAdminLeafTemplate)
	if err != nil {
		return nil, err
	}
	compact := new(bytes.Buffer)
	if err := json.Compact(compact, raw); err != nil {
		return nil, err
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	log := cfg.Logger
	if log == nil {
		l := logrus.New()
		l.Out = discard{}
		log = l
	}
	p := &Provisioner{
		info: provisioner.Info{ID: c.ClientID, Name: c.Name, Type: provisioner.TypeOIDC, CredentialID: c.ClientID},
		c:    c, claims: claims, raw: compact.Bytes(), now: cfg.Clock(), x509: tmpl, admin: admin,
		tuning:  t.withDefaults(),
		fetcher: &fetcher{client: hc, discovery: disc, tenantID: c.TenantID},
		cache:   newKeyCache(), log: log,
	}
	for _, a := range c.Admins {
		p.admins = append(p.admins, sanitizeEmail(a))
	}
	for _, d := range c.Domains {
		p.domains = append(p.domains, strings.ToLower(d))
	}
	if !claims.DisableSmallstepExtensions {
		ext, err := validate.NewExtension(p.info)
		if err != nil {
			return nil, fmt.Errorf("OIDC provisioner %q: %w", c.Name, err)
		}
		p.mods = []provisioner.CertModifier{ext}
	}
	return p, nil
}

type discard struct{}

func (discard) Write(b []byte) (int, error) { return len(b), nil }

// Info implements provisioner.Interface.
func (p *Provisioner) Info() provisioner.Info { return p.info }

// TokenID implements provisioner.Interface: the client ID (wire-spec §4.8).
func (p *Provisioner) TokenID() string { return p.c.ClientID }

// RouteKeys implements provisioner.Router: ID tokens name the client in azp,
// or else as their first audience.
func (p *Provisioner) RouteKeys() []provisioner.RouteKey {
	return []provisioner.RouteKey{
		{Kind: provisioner.RouteAZP, Value: p.c.ClientID},
		{Kind: provisioner.RouteAudience, Value: p.c.ClientID},
	}
}

// Claims implements provisioner.Interface.
func (p *Provisioner) Claims() provisioner.Resolved { return p.claims }

// EncryptedKey implements provisioner.Interface: OIDC has none.
func (p *Provisioner) EncryptedKey() (string, string, bool) { return "", "", false }

// JSON implements provisioner.Interface.
func (p *Provisioner) JSON() json.RawMessage { return p.raw }

// Run implements provisioner.Runner: it reads the provider's discovery
// document and keys now, then keeps them fresh until ctx ends.
func (p *Provisioner) Run(ctx context.Context) error {
	return p.cache.run(ctx, p.fetcher, p.tuning, p.now, p.log, p.info.Name)
}

// Ready reports whether the provider's keys have been read.
func (p *Provisioner) Ready() bool {
	set, _, _ := p.cache.current()
	return set != nil
}

// sanitizeEmail lower-cases the domain of an email, as step-ca does.
func sanitizeEmail(email string) string {
	if i := strings.LastIndex(email, "@"); i >= 0 {
		email = email[:i] + strings.ToLower(email[i:])
	}
	return email
}

// isAdmin reports whether the token's email or one of its groups is in
// admins (step-ca's openIDPayload.IsAdmin).
func (p *Provisioner) isAdmin(pl *payload) bool {
	if pl.Email != "" && slices.Contains(p.admins, sanitizeEmail(pl.Email)) {
		return true
	}
	for _, g := range pl.Groups {
		if slices.Contains(p.c.Admins, g) {
			return true
		}
	}
	return false
}

const (
	msgCannotValidate = "oidc.AuthorizeToken; cannot validate oidc token"
	msgPayload        = "oidc.AuthorizeToken; validatePayload: failed to validate oidc token payload"
)

// keysFor returns the provider's issuer and the keys that may have signed a
// token with this kid. An unknown kid asks the refresher for a refresh and
// waits for it at most Tuning.Wait (or ctx). Keys never read, or older than
// Tuning.MaxAge, fail at once as Unavailable with the refresher's error.
func (p *Provisioner) keysFor(ctx context.Context, kid string) (string, []jose.JSONWebKey, error) {
	set, lastErr, done := p.cache.current()
	if set == nil && lastErr == nil {
		// The first read is under way (the CA just started or reloaded):
		// wait for it as briefly as for a refresh.
		timer := time.NewTimer(p.tuning.Wait)
		select {
		case <-done:
		case <-timer.C:
		case <-ctx.Done():
		}
		timer.Stop()
		set, lastErr, done = p.cache.current()
	}
	if set != nil && p.now().Sub(set.fetched) > p.tuning.MaxAge {
		return "", nil, errs.E(errs.Unavailable, fmt.Sprintf(
			"oidc.AuthorizeToken; the keys of OIDC provisioner %q are stale: last read %s ago", p.info.Name,
			p.now().Sub(set.fetched).Round(time.Second)), lastErr)
	}
	if set == nil {
		detail := fmt.Sprintf("oidc.AuthorizeToken; the configuration of OIDC provisioner %q has not been read yet", p.info.Name)
		if lastErr != nil {
			detail = fmt.Sprintf("oidc.AuthorizeToken; the identity provider of OIDC provisioner %q is unavailable: %v", p.info.Name, lastErr)
		}
		return "", nil, errs.E(errs.Unavailable, detail, lastErr)
	}
	if keys := set.lookup(kid); len(keys) > 0 {
		return set.issuer, keys, nil
	}
	if !p.cache.ask(time.Now(), p.tuning.MinForced) {
		return "", nil, errs.Errorf(errs.Unauthorized, "%s: unknown key ID %q", msgCannotValidate, kid)
	}
	// Wait for the refresh asked for; a refresh already under way may end
	// first, so the keys are looked up after each one until Wait ends.
	timer := time.NewTimer(p.tuning.Wait)
	defer timer.Stop()
	for range 2 {
		select {
		case <-done:
		case <-timer.C:
			return "", nil, errs.Errorf(errs.Unauthorized, "%s: unknown key ID %q", msgCannotValidate, kid)
		case <-ctx.Done():
			return "", nil, errs.Errorf(errs.Unauthorized, "%s: unknown key ID %q", msgCannotValidate, kid)
		}
		set, _, done = p.cache.current()
		if keys := set.lookup(kid); len(keys) > 0 {
			return set.issuer, keys, nil
		}
	}
	return "", nil, errs.Errorf(errs.Unauthorized, "%s: unknown key ID %q", msgCannotValidate, kid)
}

// staticKeys is the go-oidc key set of the keys a token's kid selects.
type staticKeys []jose.JSONWebKey

// VerifySignature implements gooidc.KeySet.
func (ks staticKeys) VerifySignature(_ context.Context, raw string) ([]byte, error) {
	jws, err := jose.ParseSigned(raw, token.SignatureAlgorithms)
	if err != nil {
		return nil, err
	}
	for _, k := range ks {
		if b, err := jws.Verify(k.Key); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("no key verifies the signature")
}

// authorize runs step-ca's checks of an ID token (oidc.authorizeToken and
// ValidatePayload): the signature by one of the provider's keys, the issuer
// of the discovery document, the client ID in the audience (and azp when
// present), the times with a minute of leeway, and the domains and groups
// restrictions.
func (p *Provisioner) authorize(ctx context.Context, tok *token.Token) (*payload, error) {
	issuer, keys, err := p.keysFor(ctx, tok.Header.KeyID)
	if err != nil {
		return nil, err
	}
	algs := make([]string, len(token.SignatureAlgorithms))
	for i, a := range token.SignatureAlgorithms {
		algs[i] = string(a)
	}
	v := gooidc.NewVerifier(issuer, staticKeys(keys), &gooidc.Config{
		SkipClientIDCheck: true, SkipIssuerCheck: true, SkipExpiryCheck: true, SupportedSigningAlgs: algs,
	})
	idt, err := v.Verify(ctx, tok.Raw)
	if err != nil {
		return nil, errs.E(errs.Unauthorized, msgCannotValidate, err)
	}
	var pl payload
	if err := idt.Claims(&pl); err != nil {
		return nil, errs.E(errs.Unauthorized, "oidc.AuthorizeToken; error parsing oidc token claims", err)
	}
	if err := p.validatePayload(&pl, &tok.Claims, issuer); err != nil {
		return nil, err
	}
	return &pl, nil
}

// validatePayload is step-ca's ValidatePayload; with domains, the email
// must also be present and verified.
func (p *Provisioner) validatePayload(pl *payload, c *token.Claims, issuer string) error {
	switch {
	case pl.Issuer != issuer:
		return errs.Errorf(errs.Unauthorized, "%s: invalid issuer %q", msgPayload, pl.Issuer)
	case !slices.Contains(pl.Audience, p.c.ClientID):
		return errs.Errorf(errs.Unauthorized, "%s: invalid audience %v", msgPayload, []string(pl.Audience))
	}
	if err := c.ValidateTime(p.now()); err != nil {
		return errs.E(errs.Unauthorized, msgPayload, err)
	}
	if pl.AuthorizedParty != "" && pl.AuthorizedParty != p.c.ClientID {
		return errs.Errorf(errs.Unauthorized, "%s: invalid azp", msgPayload)
	}
	if len(p.domains) > 0 && !p.isAdmin(pl) {
		if pl.Email == "" {
			return errs.Errorf(errs.Unauthorized, "%s: email not found", msgPayload)
		}
		if !pl.EmailVerified {
			return errs.Errorf(errs.Unauthorized, "%s: email %q is not verified", msgPayload, pl.Email)
		}
		email := sanitizeEmail(pl.Email)
		if !slices.ContainsFunc(p.domains, func(d string) bool { return strings.HasSuffix(email, "@"+d) }) {
			return errs.Errorf(errs.Unauthorized, "%s: email %q is not allowed", msgPayload, pl.Email)
		}
	}
	if len(p.c.Groups) > 0 && !slices.ContainsFunc(p.c.Groups, func(g string) bool { return slices.Contains(pl.Groups, g) }) {
		return errs.Errorf(errs.Unauthorized, "oidc.AuthorizeToken; validatePayload: oidc token payload validation failed: invalid group")
	}
	return nil
}

// Identity returns the subject and SANs step-ca's OIDC certificates carry
// for pl: the sub claim, and the email then the URI <iss>#<sub> when the
// issuer is a URL.
func Identity(iss, sub, email string) (string, []string) {
	sans := []string{}
	if email != "" {
		sans = append(sans, email)
	}
	if u, err := url.Parse(iss); err == nil && u.Scheme != "" {
		u.Fragment = sub
		sans = append(sans, u.String())
	}
	return sub, sans
}

// AuthorizeSign implements provisioner.Interface, as step-ca's OIDC
// AuthorizeSign: the certificate names the token's identity (CN = sub, SANs
// = email and <iss>#<sub>) whatever the request asks; an admin without a
// template gets the request's subject and SANs.
func (p *Provisioner) AuthorizeSign(ctx context.Context, tok *token.Token) (*provisioner.X509Plan, error) {
	pl, err := p.authorize(ctx, tok)
	if err != nil {
		return nil, err
	}
	sub, sans := Identity(pl.Issuer, pl.Subject, pl.Email)
	plan := &provisioner.X509Plan{
		Info: p.info, Subject: sub, SANs: sans, Claims: p.claims, Modifiers: p.mods,
	}
	switch {
	case p.x509 != nil:
		plan.Template = p.x509.ForRequest(sub, sans, tok)
	case p.isAdmin(pl):
		d := templates.NewX509Data(sub, sans)
		d.SetToken(provisioner.TokenPayload(tok))
		plan.Template = &provisioner.CertificateTemplate{Template: p.admin, Data: d}
	}
	return plan, nil
}

// AuthorizeRevoke implements provisioner.Interface: only admins revoke.
func (p *Provisioner) AuthorizeRevoke(ctx context.Context, tok *token.Token) error {
	pl, err := p.authorize(ctx, tok)
	if err != nil {
		return err
	}
	if !p.isAdmin(pl) {
		return errs.Errorf(errs.Unauthorized, "oidc.AuthorizeRevoke; cannot revoke with non-admin oidc token")
	}
	return nil
}

// RevokesAnySerial implements provisioner.AnySerialRevoker: an ID token's
// sub is the user, not a serial; AuthorizeRevoke admits admins only.
func (p *Provisioner) RevokesAnySerial() {}

// AuthorizeRenew implements provisioner.Interface.
func (p *Provisioner) AuthorizeRenew(_ context.Context, cert *x509.Certificate) error {
	return provisioner.CheckRenewal(p.claims, p.info.Name, cert, p.now())
}
