package authority

import (
	"context"
	"crypto/x509"
	"errors"
	"net/url"
	"strings"

	"github.com/mayfly-pki/mayfly/authority/admin"
	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/provisioner"
	"github.com/mayfly-pki/mayfly/provisioner/token"
)

// AdminIssuer is the iss of the admin tokens step mints; older clients use
// the provisioner's name.
const AdminIssuer = "step-admin-client/1.0"

// AdminEnabled reports whether this snapshot serves the admin API.
func (a *Authority) AdminEnabled() bool { return a.admins != nil }

// Admins returns the admins of this snapshot (nil when remote
// administration is off).
func (a *Authority) Admins() *admin.Index { return a.admins }

// AdminAuth is an authenticated admin request.
type AdminAuth struct {
	Admin       *admin.Admin
	Provisioner provisioner.Info
	Subject     string // the certificate name that matched the admin
}

// adminDenied is the refusal of an admin token: 401 with step-ca's message.
func adminDenied(msg string, cause error) error {
	return errs.Exact(errs.Unauthorized, msg, cause)
}

// AuthorizeAdminToken checks an admin API token as step-ca's
// AuthorizeAdminToken does: raw is an x5c JWT whose chain verifies to the
// roots for client authentication with a leaf that may sign; it is signed
// by the leaf's key; the leaf's provisioner extension names a loaded
// provisioner; times hold (1 minute leeway); aud is https://<dnsName><path>
// or the bare path (ports ignored); iss is step-admin-client/1.0 or the
// provisioner's name; sub is not empty; the leaf's common name, DNS names
// or email addresses name an admin of that provisioner. A change (any
// method but GET/HEAD) under /admin/admins needs a super admin.
//
// The token is then recorded as used (single use, wire-spec §4.10), so a
// replay is refused; a token refused before that is not consumed.
// Every refusal is Unauthorized with step-ca's message.
func (a *Authority) AuthorizeAdminToken(ctx context.Context, raw, path, method string) (*AdminAuth, error) {
	if a.admins == nil {
		return nil, errs.Exact(errs.NotImplemented, "administration API not enabled", nil)
	}
	tok, err := token.Parse(raw)
	if err != nil {
		return nil, adminDenied("adminHandler.authorizeToken; error parsing x5c token", err)
	}
	now := a.now()
	chains, err := tok.Header.Certificates(x509.VerifyOptions{
		Roots: a.rootPool, Intermediates: a.interPool, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	if err != nil {
		return nil, adminDenied("adminHandler.authorizeToken; error verifying x5c certificate chain in token", err)
	}
	leaf := chains[0][0]
	if leaf.KeyUsage&x509.KeyUsageDigitalSignature == 0 {
		return nil, adminDenied("adminHandler.authorizeToken; certificate used to sign x5c token cannot be used for digital signature", nil)
	}
	if err := tok.Verify(leaf.PublicKey); err != nil {
		return nil, adminDenied("adminHandler.authorizeToken; error parsing x5c claims", err)
	}
	ext, ok := provisioner.FindExtension(leaf)
	if !ok {
		return nil, adminDenied("adminHandler.authorizeToken; error loading provisioner for x5c certificate", errors.New("certificate has no provisioner extension"))
	}
	p, ok := a.provisioners.ByCertificate(ext)
	if !ok {
		return nil, adminDenied("adminHandler.authorizeToken; error loading provisioner for x5c certificate", errors.New("provisioner "+ext.Name+" not found"))
	}
	info := p.Info()
	c := &tok.Claims
	if err := c.ValidateTime(now); err != nil {
		return nil, adminDenied("x5c.authorizeToken; invalid x5c claims", err)
	}
	if !a.matchAdminAudience(c.Audience, path) {
		return nil, adminDenied("x5c.authorizeToken; x5c token has invalid audience claim (aud)", nil)
	}
	if c.Issuer != AdminIssuer && c.Issuer != info.Name {
		return nil, adminDenied("x5c.authorizeToken; x5c token has invalid issuer claim (iss)", nil)
	}
	if c.Subject == "" {
		return nil, adminDenied("x5c.authorizeToken; x5c token subject cannot be empty", nil)
	}
	names := append([]string{leaf.Subject.CommonName}, leaf.DNSNames...)
	names = append(names, leaf.EmailAddresses...)
	var adm *admin.Admin
	var matched string
	for _, n := range names {
		if adm, ok = a.admins.Lookup(n, info.Name); ok {
			matched = n
			break
		}
	}
	if adm == nil {
		return nil, adminDenied("adminHandler.authorizeToken; unable to load admin with subject(s) ["+
			strings.Join(names, " ")+"] and provisioner '"+info.Name+"'", nil)
	}
	if strings.HasPrefix(path, "/admin/admins") && method != "GET" && method != "HEAD" && adm.Type != admin.TypeSuper {
		return nil, adminDenied("must have super admin access to make this request", nil)
	}
	if err := a.store.UseToken(ctx, tok.ReuseKey(), []byte(tok.Raw)); err != nil {
		if errors.Is(err, store.ErrTokenUsed) {
			return nil, adminDenied("adminHandler.authorizeToken; error with reuse token: token already used", nil)
		}
		return nil, storeError("error recording used token", err)
	}
	return &AdminAuth{Admin: adm, Provisioner: info, Subject: matched}, nil
}

// matchAdminAudience reports whether one of auds is https://<dnsName><path>
// (ports ignored on both sides) or path itself, as step-ca's
// Config.Audience(path) with matchesAudience.
func (a *Authority) matchAdminAudience(auds []string, path string) bool {
	for _, aud := range auds {
		if aud == path {
			return true
		}
		u, err := url.Parse(aud)
		if err != nil || u.Scheme != "https" || u.Path != path || u.RawQuery != "" || u.Fragment != "" {
			continue
		}
		host := strings.Trim(u.Hostname(), "[]")
		for _, d := range a.dnsNames {
			if strings.EqualFold(strings.Trim(d, "[]"), host) {
				return true
			}
		}
	}
	return false
}
