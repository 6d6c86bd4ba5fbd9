// Package stepcas is the registration-authority back end (authority.type
// "stepcas", wire-spec §7.2): certificates this CA authorised are signed by an
// upstream step-ca over its API. The upstream is trusted by the SHA-256 of
// its root (certificateAuthorityFingerprint); this CA authenticates to it
// with one of the upstream's JWK or X5C provisioners (certificateIssuer),
// minting a one-time token per request. See docs/ra.md.
package stepcas

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mayfly-pki/mayfly/api/wire"
	"github.com/mayfly-pki/mayfly/ca/client"
	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/internal/timeutil"
	"github.com/mayfly-pki/mayfly/provisioner/token"
)

// Options configure a CAS.
type Options struct {
	// URL is certificateAuthority; Fingerprint certificateAuthorityFingerprint.
	URL         string
	Fingerprint string
	Issuer      IssuerOptions
	// Now is the clock of minted tokens (nil: time.Now).
	Now func() time.Time
}

// CAS signs, renews and revokes through one upstream CA. Safe for
// concurrent use.
type CAS struct {
	c       *client.Client
	url     string
	root    *x509.Certificate
	rootSHA string
	iss     *tokenIssuer
	now     func() time.Time
}

// RAInfo names what authorised a request in this registration authority; it
// travels in the upstream token's step.ra claim (as step-ca's RA sends it).
type RAInfo struct {
	AuthorityID     string `json:"authorityId,omitempty"`
	EndpointID      string `json:"endpointId,omitempty"`
	ProvisionerID   string `json:"provisionerId,omitempty"`
	ProvisionerType string `json:"provisionerType,omitempty"`
	ProvisionerName string `json:"provisionerName,omitempty"`
}

// New reads the issuer's key and bootstraps the upstream: its root is
// fetched and accepted only if its SHA-256 is o.Fingerprint. It fails, naming
// the upstream, when the upstream cannot be reached.
func New(ctx context.Context, o Options) (*CAS, error) {
	if o.URL == "" || o.Fingerprint == "" {
		return nil, errors.New("stepcas: certificateAuthority and certificateAuthorityFingerprint are required")
	}
	iss, err := newTokenIssuer(o.Issuer)
	if err != nil {
		return nil, err
	}
	c, root, err := client.Bootstrap(ctx, o.URL, o.Fingerprint)
	if err != nil {
		return nil, fmt.Errorf("upstream CA %s: %w", o.URL, err)
	}
	now := o.Now
	if now == nil {
		now = time.Now
	}
	return &CAS{c: c, url: o.URL, root: root, rootSHA: strings.ToLower(o.Fingerprint), iss: iss, now: now}, nil
}

// URL returns the upstream CA's URL as configured.
func (s *CAS) URL() string { return s.url }

// Root returns the upstream root the fingerprint pinned.
func (s *CAS) Root() *x509.Certificate { return s.root }

// Intermediates returns the upstream's issuing chain.
func (s *CAS) Intermediates(ctx context.Context) ([]*x509.Certificate, error) {
	cs, err := s.c.Intermediates(ctx)
	if err != nil {
		return nil, s.upstreamError(err)
	}
	if len(cs) == 0 {
		return nil, errs.Exact(errs.Unavailable, fmt.Sprintf("upstream CA %s answered no intermediate certificate", s.url), nil)
	}
	return cs, nil
}

// Sign asks the upstream to sign csr with tmpl's subject, SANs and validity,
// and returns the leaf and the chain the upstream answered (issuer first).
// ra, when set, is sent as the token's step.ra claim.
func (s *CAS) Sign(ctx context.Context, csr *x509.CertificateRequest, tmpl *x509.Certificate, ra *RAInfo) (*x509.Certificate, []*x509.Certificate, error) {
	sans := SANs(tmpl)
	if len(sans) == 0 && tmpl.Subject.CommonName != "" {
		sans = []string{tmpl.Subject.CommonName}
	}
	claims := s.claims("/1.0/sign", tmpl.Subject.CommonName)
	claims.SANs = sans
	if ra != nil {
		b, err := json.Marshal(ra)
		if err != nil {
			return nil, nil, err
		}
		claims.Step = &token.StepClaims{RA: b}
	}
	ott, err := s.iss.sign(claims)
	if err != nil {
		return nil, nil, errs.E(errs.Internal, "stepcas: error minting the upstream token", err)
	}
	req := &wire.SignRequest{
		CSR: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csr.Raw})),
		OTT: ott,
	}
	if !tmpl.NotBefore.IsZero() {
		req.NotBefore = timeutil.NewTimeDuration(tmpl.NotBefore)
	}
	if !tmpl.NotAfter.IsZero() {
		req.NotAfter = timeutil.NewTimeDuration(tmpl.NotAfter)
	}
	resp, err := s.c.Sign(ctx, req)
	if err != nil {
		return nil, nil, s.upstreamError(err)
	}
	return s.parse(resp)
}

// Renew forwards a client's renew token (x5cInsecure, wire-spec §4.6) to the
// upstream's /renew: only the certificate's key can prove possession, so a
// renewal is forwarded as the client made it.
func (s *CAS) Renew(ctx context.Context, renewToken string) (*x509.Certificate, []*x509.Certificate, error) {
	resp, err := s.c.RenewWithToken(ctx, renewToken)
	if err != nil {
		return nil, nil, s.upstreamError(err)
	}
	return s.parse(resp)
}

// Revoke revokes serial (decimal) upstream with a revoke token for it.
func (s *CAS) Revoke(ctx context.Context, serial string, reasonCode int, reason string) error {
	ott, err := s.iss.sign(s.claims("/1.0/revoke", serial))
	if err != nil {
		return errs.E(errs.Internal, "stepcas: error minting the upstream token", err)
	}
	req := &wire.RevokeRequest{Serial: serial, OTT: ott, ReasonCode: reasonCode, Reason: reason, Passive: true}
	if err := s.c.Revoke(ctx, req, nil); err != nil {
		return s.upstreamError(err)
	}
	return nil
}

// Health returns nil when the upstream answers /health, else an
// errs.Unavailable naming it.
func (s *CAS) Health(ctx context.Context) error {
	if _, err := s.c.Health(ctx); err != nil {
		return s.upstreamError(err)
	}
	return nil
}

func (s *CAS) claims(path, subject string) *token.Claims {
	now := s.now()
	jti, _ := token.NewID()
	aud := s.c.URL().String() + path
	if s.iss.x5c != nil {
		aud += "#x5c/" + s.iss.provisioner
	}
	return &token.Claims{
		Audience: token.Audience{aud}, Issuer: s.iss.provisioner, Subject: subject, ID: jti, SHA: s.rootSHA,
		IssuedAt: token.NewNumericDate(now), NotBefore: token.NewNumericDate(now),
		Expiry: token.NewNumericDate(now.Add(token.DefaultValidity)),
	}
}

func (s *CAS) parse(resp *wire.SignResponse) (*x509.Certificate, []*x509.Certificate, error) {
	certs, err := client.ParsePEMCertificates([]byte(resp.Certificate))
	if err != nil || len(certs) == 0 {
		return nil, nil, errs.Exact(errs.Unavailable, fmt.Sprintf("upstream CA %s answered an unreadable certificate", s.url), err)
	}
	var chain []*x509.Certificate
	for _, p := range resp.CertChain {
		cs, err := client.ParsePEMCertificates([]byte(p))
		if err != nil {
			return nil, nil, errs.Exact(errs.Unavailable, fmt.Sprintf("upstream CA %s answered an unreadable chain", s.url), err)
		}
		chain = append(chain, cs...)
	}
	if len(chain) > 0 && chain[0].Equal(certs[0]) {
		chain = chain[1:]
	}
	return certs[0], chain, nil
}

// upstreamError names the upstream in a client-facing message. An answer
// keeps the upstream's meaning for the client's own mistakes (400, 403);
// a refusal of this CA's own credentials (401) is this CA's fault (500);
// an unreachable or failing upstream is a 503.
func (s *CAS) upstreamError(err error) error {
	var ae *client.APIError
	if errors.As(err, &ae) {
		msg := fmt.Sprintf("upstream CA %s answered %d: %s", s.url, ae.Status, ae.Message)
		switch {
		case ae.Status == 400:
			return errs.Exact(errs.BadRequest, msg, err)
		case ae.Status == 403:
			return errs.Exact(errs.Forbidden, msg, err)
		case ae.Status == 404:
			return errs.Exact(errs.NotFound, msg, err)
		case ae.Status >= 500:
			return errs.Exact(errs.Unavailable, msg, err)
		default:
			return errs.Exact(errs.Internal, msg, err)
		}
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	return errs.Exact(errs.Unavailable, fmt.Sprintf("upstream CA %s is unavailable", s.url), err)
}

// SANs returns tmpl's subject alternative names as token "sans" strings.
func SANs(tmpl *x509.Certificate) []string {
	var out []string
	out = append(out, tmpl.DNSNames...)
	for _, ip := range tmpl.IPAddresses {
		out = append(out, ip.String())
	}
	out = append(out, tmpl.EmailAddresses...)
	for _, u := range tmpl.URIs {
		out = append(out, u.String())
	}
	return out
}
