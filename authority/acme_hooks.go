package authority

import (
	"context"
	"crypto/x509"
	"errors"
	"net"
	"time"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/internal/meter"
	"github.com/mayfly-pki/mayfly/internal/timeutil"
	"github.com/mayfly-pki/mayfly/provisioner"
)

// This file holds what the ACME server (authority/acme) needs from the
// authority besides Sign: the policy check of an order's names before any
// challenge, signing with an order's window, and revocation by an ACME
// account or certificate key.

// CheckNamePolicy applies authority.policy's X.509 rules, then those of the
// ACME provisioner named prov, to names an ACME order asks for, before any
// challenge is offered (the certificate is checked again when signed).
func (a *Authority) CheckNamePolicy(prov string, dnsNames []string, ips []net.IP) error {
	return a.checkPolicy("acme new-order", prov, &x509.Certificate{DNSNames: dnsNames, IPAddresses: ips})
}

// SignWithPlanWindow is SignWithPlan with the validity an ACME order asked
// for (zero times take the claims' defaults). The caller has verified csr's
// signature (authority/acme.CheckCSR does, before the order moves on), so
// it is not verified twice.
//
// With a store that commits in order (store.QueuedCertificates) the
// certificate's record is queued, not waited for: the caller must make its
// own write (the order that names the certificate) durable, then call
// Issued.Durable, before it hands the certificate out.
func (a *Authority) SignWithPlanWindow(ctx context.Context, csr *x509.CertificateRequest, plan *provisioner.X509Plan, notBefore, notAfter time.Time) (*Issued, error) {
	if csr == nil {
		return nil, errs.E(errs.BadRequest, "missing csr", nil)
	}
	ctx = context.WithValue(ctx, queueRecordKey{}, true)
	req := &SignRequest{CSR: csr}
	if !notBefore.IsZero() {
		req.NotBefore = timeutil.NewTimeDuration(notBefore)
	}
	if !notAfter.IsZero() {
		req.NotAfter = timeutil.NewTimeDuration(notAfter)
	}
	iss, err := a.signPlan(ctx, req, plan, plan.Info)
	a.decided(ctx, meter.OpSign, plan.Info.Name, csr, iss, err)
	return iss, err
}

// queueRecordKey marks a context whose issued certificate's record may be
// queued (SignWithPlanWindow).
type queueRecordKey struct{}

func queueRecord(ctx context.Context) bool {
	v, _ := ctx.Value(queueRecordKey{}).(bool)
	return v
}

// RevokeACME records the revocation of cert, authorized by the ACME server
// (the account that ordered it, or the certificate's own key): the record
// has ACME set, as step-ca's.
func (a *Authority) RevokeACME(ctx context.Context, cert *x509.Certificate, reasonCode int, prov provisioner.Info) error {
	serial := cert.SerialNumber.String()
	req := &RevokeRequest{Serial: serial, ReasonCode: reasonCode, Cert: cert}
	err := a.revokeACME(ctx, cert, reasonCode, prov.ID)
	var rv *Revoked
	if err == nil {
		rv = &Revoked{Serial: serial, Provisioner: prov}
	}
	a.revokeDecided(ctx, req, rv, err)
	return err
}

// revokeACME is RevokeACME: the record, then the CRL and OCSP refresh.
func (a *Authority) revokeACME(ctx context.Context, cert *x509.Certificate, reasonCode int, provisionerID string) error {
	serial := cert.SerialNumber.String()
	rec := &store.Revocation{
		Serial: serial, ProvisionerID: provisionerID, ReasonCode: reasonCode,
		RevokedAt: a.now().UTC(), ExpiresAt: cert.NotAfter.UTC(), ACME: true,
	}
	defer a.expectWrite()()
	if err := a.store.Revoke(ctx, rec); err != nil {
		if errors.Is(err, store.ErrAlreadyRevoked) {
			return errs.Errorf(errs.Conflict, "certificate with serial number '%s' is already revoked", serial)
		}
		return storeError("error revoking certificate", err)
	}
	return a.afterRevoke(ctx, serial)
}

// IsRevoked reports whether serial is revoked.
func (a *Authority) IsRevoked(ctx context.Context, serial string) (bool, error) {
	_, err := a.store.GetRevocation(ctx, serial)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, store.ErrNotFound):
		return false, nil
	case errs.Is(err, errs.NotImplemented):
		return false, nil
	default:
		return false, err
	}
}
