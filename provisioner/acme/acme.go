// Package acme is the ACME provisioner (RFC 8555): clients prove control of
// their identifiers with challenges instead of presenting a token. The
// protocol itself is served by api/acme with the state machine of
// authority/acme; this package only holds the provisioner's options and
// returns the X.509 plan an order's certificate is issued with.
package acme

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/provisioner"
	"github.com/mayfly-pki/mayfly/provisioner/token"
	"github.com/mayfly-pki/mayfly/provisioner/validate"
)

// Challenge types (RFC 8555 §8, RFC 8737).
const (
	HTTP01    = "http-01"
	DNS01     = "dns-01"
	TLSALPN01 = "tls-alpn-01"
)

// DefaultChallenges are offered when the provisioner lists none (step-ca's).
var DefaultChallenges = []string{HTTP01, DNS01, TLSALPN01}

type config struct {
	provisioner.Base
	ForceCN            bool     `json:"forceCN,omitempty"`
	RequireEAB         bool     `json:"requireEAB,omitempty"`
	Challenges         []string `json:"challenges,omitempty"`
	AttestationFormats []string `json:"attestationFormats,omitempty"`
	TermsOfService     string   `json:"termsOfService,omitempty"`
	Website            string   `json:"website,omitempty"`
	CaaIdentities      []string `json:"caaIdentities,omitempty"`
}

// Provisioner is a configured ACME provisioner.
type Provisioner struct {
	info       provisioner.Info
	claims     provisioner.Resolved
	raw        json.RawMessage
	now        func() time.Time
	forceCN    bool
	requireEAB bool
	challenges []string
	tos        string
	website    string
	caa        []string
	x509       *provisioner.X509Template
	modifiers  []provisioner.CertModifier
}

var _ provisioner.Interface = (*Provisioner)(nil)

// New builds an ACME provisioner from its ca.json entry.
func New(raw json.RawMessage, cfg provisioner.Config) (provisioner.Interface, error) {
	var c config
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("invalid ACME provisioner: %w", err)
	}
	if c.Name == "" {
		return nil, errors.New("provisioner name cannot be empty")
	}
	for _, ch := range c.Challenges {
		switch ch {
		case HTTP01, DNS01, TLSALPN01:
		case "device-attest-01", "wire-oidc-01", "wire-dpop-01":
			return nil, fmt.Errorf("ACME provisioner %q: challenge %q is not supported", c.Name, ch)
		default:
			return nil, fmt.Errorf("ACME provisioner %q: unknown challenge %q (want http-01, dns-01 or tls-alpn-01)", c.Name, ch)
		}
	}
	claims := c.Claims.Merge(cfg.Claims)
	if err := claims.Validate(); err != nil {
		return nil, fmt.Errorf("ACME provisioner %q: claims: %w", c.Name, err)
	}
	tmpl, err := provisioner.ParseX509Template(c.Options, cfg.StepPath)
	if err != nil {
		return nil, fmt.Errorf("ACME provisioner %q: %w", c.Name, err)
	}
	compact := new(bytes.Buffer)
	if err := json.Compact(compact, raw); err != nil {
		return nil, err
	}
	chs := c.Challenges
	if len(chs) == 0 {
		chs = DefaultChallenges
	}
	p := &Provisioner{
		info:   provisioner.Info{ID: "acme/" + c.Name, Name: c.Name, Type: provisioner.TypeACME},
		claims: claims, raw: compact.Bytes(), now: cfg.Clock(), forceCN: c.ForceCN,
		requireEAB: c.RequireEAB, challenges: chs, tos: c.TermsOfService, website: c.Website,
		caa: c.CaaIdentities, x509: tmpl,
	}
	if !claims.DisableSmallstepExtensions {
		ext, err := validate.NewExtension(p.info)
		if err != nil {
			return nil, fmt.Errorf("ACME provisioner %q: %w", c.Name, err)
		}
		p.modifiers = []provisioner.CertModifier{ext}
	}
	return p, nil
}

// Info implements provisioner.Interface.
func (p *Provisioner) Info() provisioner.Info { return p.info }

// TokenID implements provisioner.Interface: "acme/<name>" (wire-spec §4.8).
func (p *Provisioner) TokenID() string { return p.info.ID }

// Claims implements provisioner.Interface.
func (p *Provisioner) Claims() provisioner.Resolved { return p.claims }

// EncryptedKey implements provisioner.Interface: ACME has none.
func (p *Provisioner) EncryptedKey() (string, string, bool) { return "", "", false }

// JSON implements provisioner.Interface: the ca.json entry (ACME has no secret).
func (p *Provisioner) JSON() json.RawMessage { return p.raw }

// AuthorizeSign implements provisioner.Interface: ACME has no token flow.
func (p *Provisioner) AuthorizeSign(context.Context, *token.Token) (*provisioner.X509Plan, error) {
	return nil, errs.Exact(errs.BadRequest, "token flow is not supported", nil)
}

// AuthorizeRevoke implements provisioner.Interface: ACME has no token flow.
func (p *Provisioner) AuthorizeRevoke(context.Context, *token.Token) error {
	return errs.Exact(errs.BadRequest, "token flow is not supported", nil)
}

// AuthorizeRenew implements provisioner.Interface.
func (p *Provisioner) AuthorizeRenew(_ context.Context, cert *x509.Certificate) error {
	return provisioner.CheckRenewal(p.claims, p.info.Name, cert, p.now())
}

// RequireEAB says whether new accounts must carry an external account binding.
func (p *Provisioner) RequireEAB() bool { return p.requireEAB }

// Challenges lists the challenge types offered, in order.
func (p *Provisioner) Challenges() []string { return p.challenges }

// Allows reports whether challenge type t is enabled.
func (p *Provisioner) Allows(t string) bool {
	for _, c := range p.challenges {
		if c == t {
			return true
		}
	}
	return false
}

// Meta returns the directory's meta fields: termsOfService, website,
// caaIdentities (empty when unset).
func (p *Provisioner) Meta() (tos, website string, caa []string) { return p.tos, p.website, p.caa }

// AuthorizeOrder returns the plan for an order's certificate: its names
// are the order's identifiers (the CSR must ask for exactly those, checked
// by the caller); the common name is the CSR's, or with forceCN the first
// name when the CSR has none.
func (p *Provisioner) AuthorizeOrder(csr *x509.CertificateRequest, names []string) *provisioner.X509Plan {
	subject := csr.Subject.CommonName
	if subject == "" && p.forceCN && len(names) > 0 {
		subject = names[0]
	}
	plan := &provisioner.X509Plan{
		Info: p.info, Subject: subject, SANs: names, Claims: p.claims, Modifiers: p.modifiers,
	}
	if p.x509 != nil {
		plan.Template = p.x509.ForRequest(subject, names, nil)
	}
	return plan
}
