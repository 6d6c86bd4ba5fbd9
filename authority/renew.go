package authority

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/mayfly-pki/mayfly/authority/issuer"
	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/internal/meter"
	"github.com/mayfly-pki/mayfly/provisioner"
	"github.com/mayfly-pki/mayfly/provisioner/token"
	"github.com/mayfly-pki/mayfly/provisioner/validate"
)

// RenewIssuer is the iss claim of renew tokens minted by step's client.
const RenewIssuer = "step-ca-client/1.0"

var (
	oidAuthorityKeyID = []int{2, 5, 29, 35}
	oidSubjectKeyID   = []int{2, 5, 29, 14}
)

// Renew issues a new certificate like cert (same subject, SANs, extensions
// and key; a new serial; the same total validity from now) (wire-spec §3.4).
// cert has been authenticated by the caller (mTLS or a renew token).
func (a *Authority) Renew(ctx context.Context, cert *x509.Certificate) (*Issued, error) {
	iss, err := a.renew(ctx, cert, nil)
	a.renewDecided(ctx, meter.OpRenew, cert, iss, err)
	return iss, err
}

// Rekey is Renew with the public key of csr and a fresh subject key ID.
func (a *Authority) Rekey(ctx context.Context, cert *x509.Certificate, csr *x509.CertificateRequest) (*Issued, error) {
	var iss *Issued
	err := checkCSRSignature(csr)
	if err == nil {
		iss, err = a.renew(ctx, cert, csr)
	}
	a.renewDecided(ctx, meter.OpRekey, cert, iss, err)
	return iss, err
}

func (a *Authority) renew(ctx context.Context, cert *x509.Certificate, csr *x509.CertificateRequest) (*Issued, error) {
	if a.upstream != nil {
		return a.renewUpstream(ctx, cert, csr, "")
	}
	serial := cert.SerialNumber.String()
	if err := a.checkNotRevoked(ctx, serial); err != nil {
		return nil, err
	}
	ext, ok := provisioner.FindExtension(cert)
	if !ok {
		return nil, errs.E(errs.Unauthorized, "authority.Renew: cannot get provisioner from certificate", nil)
	}
	p, ok := a.provisioners.ByCertificate(ext)
	if !ok {
		return nil, errs.Errorf(errs.Unauthorized, "authority.Renew: provisioner %q not found", ext.Name)
	}
	if err := p.AuthorizeRenew(ctx, cert); err != nil {
		return nil, err
	}
	// The key this certificate certifies meets sign's key policy: the new
	// key of a rekey, or the renewed certificate's own.
	pub, keyOf := cert.PublicKey, "certificate"
	if csr != nil {
		pub, keyOf = csr.PublicKey, "certificate request"
	}
	if err := validate.Key(pub, keyOf); err != nil {
		return nil, err
	}
	// Names are unchanged, but a policy tightened since the certificate
	// was issued refuses it (step-ca checks renewals too).
	op := "renew"
	if csr != nil {
		op = "rekey"
	}
	if err := a.checkPolicy(op, p.Info().Name, cert); err != nil {
		return nil, err
	}
	// Authorized: from here the request may write (store.WriteHinter).
	defer a.expectWrite()()
	notBefore, notAfter, err := a.renewValidity(a.now(), cert, p.Claims())
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		RawSubject: cert.RawSubject,
		Subject:    cert.Subject,
		NotBefore:  notBefore,
		NotAfter:   notAfter,
	}
	for _, e := range cert.Extensions {
		switch {
		case e.Id.Equal(oidAuthorityKeyID):
			continue
		case csr != nil && e.Id.Equal(oidSubjectKeyID):
			continue
		}
		tmpl.ExtraExtensions = append(tmpl.ExtraExtensions, e)
	}
	if csr != nil {
		ski, err := issuer.KeyID(csr.RawSubjectPublicKeyInfo)
		if err != nil {
			return nil, errs.E(errs.BadRequest, "invalid csr", err)
		}
		tmpl.SubjectKeyId = ski
	}
	// The new record's x509_certs_data names the same provisioner as the old
	// one's; it is derived from the provisioner rather than read back from the
	// store (a read and a DER parse per renewal). Records imported from
	// step-ca with extra members (RA data) are not carried over.
	iss, err := a.issue(ctx, tmpl, pub, p.Info(), nil)
	if err != nil {
		return nil, err
	}
	iss.Template.DNSNames, iss.Template.IPAddresses = cert.DNSNames, cert.IPAddresses
	iss.Template.EmailAddresses, iss.Template.URIs = cert.EmailAddresses, cert.URIs
	return iss, nil
}

// checkNotRevoked implements passive revocation: a revoked certificate cannot
// renew, rekey or authenticate a revocation.
func (a *Authority) checkNotRevoked(ctx context.Context, serial string) error {
	_, err := a.store.GetRevocation(ctx, serial)
	switch {
	case err == nil:
		return errs.Errorf(errs.Unauthorized, "certificate with serial number %s has been revoked", serial)
	case errors.Is(err, store.ErrNotFound), errs.Is(err, errs.NotImplemented):
		return nil
	default:
		return storeError("error checking revocation", err)
	}
}

// AuthorizeRenewToken validates an x5cInsecure renew token (wire-spec §4.6)
// and returns the certificate it renews.
func (a *Authority) AuthorizeRenewToken(ctx context.Context, raw string) (*x509.Certificate, error) {
	fail := func(err error) (*x509.Certificate, error) {
		return nil, errs.Exact(errs.Unauthorized, "error validating renew token", err)
	}
	tok, err := token.Parse(raw)
	if err != nil {
		return fail(err)
	}
	chainB64 := tok.HeaderStrings("x5cInsecure")
	if len(chainB64) == 0 {
		return fail(errors.New("missing x5cInsecure header"))
	}
	var chain []*x509.Certificate
	for _, s := range chainB64 {
		der, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return fail(err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return fail(err)
		}
		chain = append(chain, c)
	}
	leaf := chain[0]
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	opts := x509.VerifyOptions{
		Roots: a.rootPool, Intermediates: inter, CurrentTime: leaf.NotAfter.Add(-time.Minute),
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if _, err := leaf.Verify(opts); err != nil {
		return fail(err)
	}
	if leaf.KeyUsage&x509.KeyUsageDigitalSignature == 0 {
		return fail(errors.New("certificate has no digitalSignature key usage"))
	}
	if err := tok.Verify(jose.JSONWebKey{Key: leaf.PublicKey.(crypto.PublicKey)}); err != nil {
		return fail(err)
	}
	c := &tok.Claims
	if c.Subject != leaf.Subject.CommonName {
		return fail(errors.New("token subject does not match the certificate common name"))
	}
	if err := c.ValidateTime(a.now()); err != nil {
		return fail(err)
	}
	if !a.audiences.Match(provisioner.PurposeRenew, c.Audience, "") && !a.issuedThroughRA(ctx, leaf) {
		return fail(errors.New("invalid token audience"))
	}
	if c.Issuer != RenewIssuer {
		ext, ok := provisioner.FindExtension(leaf)
		if !ok || ext.Name != c.Issuer {
			return fail(errors.New("invalid token issuer"))
		}
	}
	if err := a.useToken(ctx, tok); err != nil {
		return nil, err
	}
	return leaf, nil
}
