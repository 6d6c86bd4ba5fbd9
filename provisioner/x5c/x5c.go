// Package x5c is the X5C provisioner: one-time tokens signed by the key of
// a certificate whose chain, in the token's x5c header, verifies to the
// provisioner's roots (wire-spec §4.4).
package x5c

import (
	"context"
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
)

// Template data keys step-ca sets for X5C (x509util.AuthorizationCrtKey,
// AuthorizationChainKey): the authenticating leaf and its verified chain.
const (
	AuthorizationCrtKey   = "AuthorizationCrt"
	AuthorizationChainKey = "AuthorizationChain"
)

type config struct {
	provisioner.Base
	// Roots is the PEM bundle; in ca.json the base64 of it (a JSON []byte).
	Roots []byte `json:"roots"`
}

// Provisioner is a configured X5C provisioner.
type Provisioner struct {
	info      provisioner.Info
	roots     *x509.CertPool
	claims    provisioner.Resolved
	raw       json.RawMessage
	audiences provisioner.Audiences
	fragment  string // "x5c/<name>": the audience fragment and token ID
	now       func() time.Time
	x509      *provisioner.X509Template // nil: the default leaf
	webhooks  *webhook.Set              // nil: none
	modifiers []provisioner.CertModifier
	chains    *chainCache
}

var _ provisioner.Interface = (*Provisioner)(nil)

// New builds an X5C provisioner from its ca.json entry.
func New(raw json.RawMessage, cfg provisioner.Config) (provisioner.Interface, error) {
	var c config
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("invalid X5C provisioner: %w", err)
	}
	if c.Name == "" {
		return nil, errors.New("provisioner name cannot be empty")
	}
	if len(c.Roots) == 0 {
		return nil, fmt.Errorf("X5C provisioner %q: roots: provisioner root(s) cannot be empty", c.Name)
	}
	pool, err := parseRoots(c.Roots)
	if err != nil {
		return nil, fmt.Errorf("X5C provisioner %q: roots: %w", c.Name, err)
	}
	id := "x5c/" + c.Name
	info := provisioner.Info{ID: id, Name: c.Name, Type: provisioner.TypeX5C}
	parts, err := base.Parse(info, c.Base, raw, cfg)
	if err != nil {
		return nil, err
	}
	claims := parts.Claims
	p := &Provisioner{
		info: info, roots: pool, claims: claims, raw: parts.Raw, audiences: cfg.Audiences, fragment: id,
		now: cfg.Clock(), x509: parts.X509, webhooks: parts.Webhooks, chains: newChainCache(),
	}
	if !claims.DisableSmallstepExtensions {
		ext, err := validate.NewExtension(p.info)
		if err != nil {
			return nil, fmt.Errorf("X5C provisioner %q: %w", c.Name, err)
		}
		p.modifiers = []provisioner.CertModifier{ext}
	}
	return p, nil
}

// parseRoots reads every certificate of a PEM bundle, as step-ca does: at
// least one is required.
func parseRoots(b []byte) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	n := 0
	for rest := b; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		n++
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("error parsing x509 certificate from PEM block %d: %w", n, err)
		}
		pool.AddCert(cert)
	}
	if n == 0 {
		return nil, errors.New("no x509 certificates found (roots must be the base64 of a PEM bundle)")
	}
	return pool, nil
}

// Info implements provisioner.Interface.
func (p *Provisioner) Info() provisioner.Info { return p.info }

// TokenID implements provisioner.Interface: "x5c/<name>", the fragment of
// its tokens' audience.
func (p *Provisioner) TokenID() string { return p.fragment }

// Claims implements provisioner.Interface.
func (p *Provisioner) Claims() provisioner.Resolved { return p.claims }

// EncryptedKey implements provisioner.Interface: X5C has none.
func (p *Provisioner) EncryptedKey() (string, string, bool) { return "", "", false }

// JSON implements provisioner.Interface.
func (p *Provisioner) JSON() json.RawMessage { return p.raw }

// authorize runs step-ca's checks of an X5C token (x5c.authorizeToken): the
// x5c chain verifies to the roots at now for client authentication, the
// leaf may sign (digitalSignature), the token is signed by the leaf's key,
// and the issuer, times, audience and subject hold. It returns the verified
// chain, leaf first.
func (p *Provisioner) authorize(tok *token.Token, purpose provisioner.Purpose) ([]*x509.Certificate, error) {
	now := p.now()
	chain, err := p.verifyChain(tok, now)
	if err != nil {
		return nil, err
	}
	leaf := chain[0]
	if err := tok.Verify(leaf.PublicKey); err != nil {
		return nil, errs.E(errs.Unauthorized, "x5c.authorizeToken; error parsing x5c claims", err)
	}
	c := &tok.Claims
	if c.Issuer != p.info.Name {
		return nil, errs.Errorf(errs.Unauthorized, "x5c.authorizeToken; invalid x5c claims: invalid issuer %q", c.Issuer)
	}
	if err := c.ValidateTime(now); err != nil {
		return nil, errs.E(errs.Unauthorized, "x5c.authorizeToken; invalid x5c claims", err)
	}
	if !p.audiences.Match(purpose, c.Audience, p.fragment) {
		return nil, errs.Errorf(errs.Unauthorized, "x5c.authorizeToken; x5c token has invalid audience claim (aud)")
	}
	if c.Subject == "" {
		return nil, errs.Errorf(errs.Unauthorized, "x5c.authorizeToken; x5c token subject cannot be empty")
	}
	return chain, nil
}

// verifyChain returns the token's x5c chain verified to the roots at now
// for client authentication, with a leaf that may sign, from the cache when
// the same chain verified before.
func (p *Provisioner) verifyChain(tok *token.Token, now time.Time) ([]*x509.Certificate, error) {
	if chain, ok := p.chains.get(tok.ProtectedHeader(), now); ok {
		return chain, nil
	}
	chains, err := tok.Header.Certificates(x509.VerifyOptions{
		Roots: p.roots, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	if err != nil {
		return nil, errs.E(errs.Unauthorized, "x5c.authorizeToken; error verifying x5c certificate chain in token", err)
	}
	if chains[0][0].KeyUsage&x509.KeyUsageDigitalSignature == 0 {
		return nil, errs.Errorf(errs.Unauthorized, "x5c.authorizeToken; certificate used to sign x5c token cannot be used for digital signature")
	}
	p.chains.put(tok.ProtectedHeader(), chains[0])
	return chains[0], nil
}

// plan is one request's plan with the options it points to, allocated
// together.
type plan struct {
	provisioner.X509Plan
	validators [2]provisioner.CSRValidator
	caps       [1]provisioner.CertCap
	window     validate.CredentialWindow
}

// AuthorizeSign implements provisioner.Interface, as step-ca's X5C
// AuthorizeSign: the CSR's common name is the token's subject and its SANs
// the token's (sans defaults to [sub]); the certificate lies within the x5c
// leaf's validity (a default notAfter is cut to the leaf's); templates get
// .AuthorizationCrt and .AuthorizationChain.
func (p *Provisioner) AuthorizeSign(_ context.Context, tok *token.Token) (*provisioner.X509Plan, error) {
	chain, err := p.authorize(tok, provisioner.PurposeSign)
	if err != nil {
		return nil, err
	}
	c := &tok.Claims
	sans := c.SANs
	if len(sans) == 0 {
		sans = []string{c.Subject}
	}
	leaf := chain[0]
	pl := &plan{window: validate.CredentialWindow{NotBefore: leaf.NotBefore, NotAfter: leaf.NotAfter}}
	pl.validators = [2]provisioner.CSRValidator{validate.CommonName(c.Subject), validate.SANs(sans)}
	pl.caps[0] = &pl.window
	pl.X509Plan = provisioner.X509Plan{
		Info: p.info, Subject: c.Subject, SANs: sans, Claims: p.claims,
		Validators: pl.validators[:], Modifiers: p.modifiers, Caps: pl.caps[:],
		Webhooks: p.webhooks.X509(webhook.Request{
			ProvisionerName: p.info.Name, AuthorizationPrincipal: leaf.Subject.CommonName, X5CCertificate: leaf,
			Subject: c.Subject, SANs: sans, Token: tok,
		}),
	}
	if p.x509 != nil {
		pl.Template = p.x509.ForRequest(c.Subject, sans, tok)
		pl.Template.Data.Set(AuthorizationCrtKey, leaf)
		pl.Template.Data.Set(AuthorizationChainKey, chain)
	}
	return &pl.X509Plan, nil
}

// AuthorizeRevoke implements provisioner.Interface.
func (p *Provisioner) AuthorizeRevoke(_ context.Context, tok *token.Token) error {
	_, err := p.authorize(tok, provisioner.PurposeRevoke)
	return err
}

// AuthorizeRenew implements provisioner.Interface.
func (p *Provisioner) AuthorizeRenew(_ context.Context, cert *x509.Certificate) error {
	return provisioner.CheckRenewal(p.claims, p.info.Name, cert, p.now())
}
