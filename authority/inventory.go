package authority

import (
	"context"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/provisioner"
	"github.com/mayfly-pki/mayfly/provisioner/token"
)

// CertificateList is one page of the certificate inventory.
type CertificateList struct {
	Certificates []*store.CertificateInfo
	// NextCursor continues the listing; "" when it is complete.
	NextCursor string
	// Provisioner is the admin token's provisioner (for the request log).
	Provisioner provisioner.Info
}

// ListCertificates authorizes ott as an admin token and returns one page of
// the store's certificate records matching f.
//
// The token must be a JWK provisioner's one-time token whose audience is
// https://<any dnsName>/admin/certificates (port ignored), signed by that
// provisioner, with iss = its name; it is marked used like any other token,
// so each page needs a new one. Errors: Unauthorized for any token problem
// (including reuse), NotImplemented when the store has no store.Inventory
// (the message names the backend), BadRequest for an invalid cursor, else
// the store's failure classified as for other requests.
func (a *Authority) ListCertificates(ctx context.Context, ott string, f store.CertificateFilter) (*CertificateList, error) {
	if ott == "" {
		return nil, errs.Errorf(errs.Unauthorized, "authority.ListCertificates: missing admin token")
	}
	p, _, err := a.authorizeToken(ctx, ott, func(p provisioner.Interface, tok *token.Token) error {
		ad, ok := p.(provisioner.AdminAuthorizer)
		if !ok {
			return errs.Errorf(errs.Unauthorized, "authority.ListCertificates: provisioner %q (%s) cannot authorize admin requests", p.Info().Name, p.Info().Type)
		}
		return ad.AuthorizeAdmin(ctx, tok)
	})
	if err != nil {
		return nil, err
	}
	inv, ok := a.store.(store.Inventory)
	if !ok {
		return nil, errs.Exact(errs.NotImplemented, "listing certificates is not supported by the "+a.storeName+" database", nil)
	}
	page, next, err := inv.ListCertificates(ctx, f)
	if err != nil {
		return nil, storeError("error listing certificates", err)
	}
	return &CertificateList{Certificates: page, NextCursor: next, Provisioner: p.Info()}, nil
}
