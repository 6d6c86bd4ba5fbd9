package authority

import (
	"context"
	"crypto/x509"
	"crypto/x509/pkix"

	"github.com/mayfly-pki/mayfly/authority/crl"
	"github.com/mayfly-pki/mayfly/authority/ocsp"
	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/internal/errs"
)

// CRLOptions enables the CRL (ca.json "crl" with enabled true).
type CRLOptions = crl.Options

// newCRL builds the CRL service of o.CRL, or nil when CRLs are off. A store
// that keeps no revocations (no database) cannot serve one: step-ca
// refuses revocation there too, so the CRL is disabled with a warning.
func (a *Authority) newCRL(o *CRLOptions) error {
	if o == nil {
		return nil
	}
	cs, ok := a.store.(store.CRLStore)
	if !ok {
		a.log.Warn("crl.enabled is set but the database keeps no revocations: the CRL is disabled")
		return nil
	}
	s, err := crl.New(crl.Deps{Store: cs, Issuer: a.issuer.Certificate(), Signer: a.issuer.Signer(), Now: a.now, Log: a.log}, *o)
	if err != nil {
		return err
	}
	ext, err := crl.CDPExtension(s.Options().IDPURL)
	if err != nil {
		return err
	}
	a.crl, a.issuedExts = s, append(a.issuedExts, ext)
	return nil
}

// OCSPOptions enables the OCSP responder (ca.json "ocsp" with enabled true).
type OCSPOptions = ocsp.Options

// newOCSP builds the OCSP responder of o, or nil when it is off: it issues
// the first delegated responder certificate.
func (a *Authority) newOCSP(o *OCSPOptions) error {
	if o == nil {
		return nil
	}
	r, err := ocsp.New(ocsp.Deps{Store: a.store, Issuer: a.issuer.Certificate(), Signer: a.issuer.Signer(), Now: a.now, Log: a.log}, *o)
	if err != nil {
		return err
	}
	ext, err := ocsp.AIAExtension(r.Options().URL)
	if err != nil {
		return err
	}
	a.ocsp, a.issuedExts = r, append(a.issuedExts, ext)
	return nil
}

// OCSP returns the OCSP responder, or nil when it is disabled.
func (a *Authority) OCSP() *ocsp.Responder { return a.ocsp }

// CRL returns the CRL service, or nil when CRLs are disabled.
func (a *Authority) CRL() *crl.Service { return a.crl }

// CurrentCRL returns the CRL served at /crl: NotFound when disabled.
func (a *Authority) CurrentCRL(ctx context.Context) (*crl.CRL, error) {
	if a.crl == nil {
		return nil, errs.E(errs.NotFound, "CRL is disabled", nil)
	}
	c, err := a.crl.Current(ctx)
	if err != nil {
		return nil, errs.E(errs.Internal, "error generating CRL", err)
	}
	return c, nil
}

// afterRevoke refreshes what relying parties read (CRL with
// generateOnRevoke) before the revocation returns. The revocation is
// recorded whatever happens here; a failure is an error, as in step-ca.
func (a *Authority) afterRevoke(ctx context.Context, serial string) error {
	if a.ocsp != nil {
		if err := a.ocsp.Refresh(ctx, serial); err != nil {
			a.log.WithError(err).WithField("serial", serial).Error("OCSP: cannot sign the revoked answer; it is signed at the next request")
		}
	}
	if a.crl != nil && a.crl.Options().GenerateOnRevoke {
		if err := a.crl.Refresh(ctx); err != nil {
			return errs.E(errs.Internal, "authority.Revoke: error generating CRL", err)
		}
	}
	return nil
}

// addIssuedExtensions adds the revocation pointers (CRL distribution point,
// AIA OCSP) to a certificate about to be signed, unless it has its own.
func (a *Authority) addIssuedExtensions(tmpl *x509.Certificate) {
	for _, ext := range a.issuedExts {
		if !hasExt(tmpl, ext) {
			// Never into a shared backing array: a plan may share its slices.
			tmpl.ExtraExtensions = append(tmpl.ExtraExtensions[:len(tmpl.ExtraExtensions):len(tmpl.ExtraExtensions)], ext)
		}
	}
}

func hasExt(tmpl *x509.Certificate, ext pkix.Extension) bool {
	if ext.Id.Equal(crl.OIDCRLDistributionPoints) && len(tmpl.CRLDistributionPoints) > 0 ||
		ext.Id.Equal(ocsp.OIDAuthorityInfoAccess) && (len(tmpl.OCSPServer) > 0 || len(tmpl.IssuingCertificateURL) > 0) {
		return true
	}
	for _, e := range tmpl.ExtraExtensions {
		if e.Id.Equal(ext.Id) {
			return true
		}
	}
	return false
}
