package authority

import (
	"context"
	"errors"
	"strconv"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/internal/meter"
	"github.com/mayfly-pki/mayfly/provisioner"
	"github.com/mayfly-pki/mayfly/provisioner/token"
	"github.com/mayfly-pki/mayfly/ssh"
)

// SSHRevokeRequest is one POST /ssh/revoke (passive, by token).
type SSHRevokeRequest struct {
	Serial     string // decimal
	ReasonCode int
	Reason     string
	OTT        string
}

// RevokeSSH records the revocation of an SSH certificate (wire-spec §3.4
// POST /ssh/revoke) in revoked_ssh_certs and rebuilds the key revocation
// list. The token's subject must be the serial. The certificate's expiry
// is recorded when the CA has its record (step-ca records none), so that
// the KRL drops it once expired.
func (a *Authority) RevokeSSH(ctx context.Context, req *SSHRevokeRequest) (*Revoked, error) {
	rv, err := a.revokeSSH(ctx, req)
	prov := ""
	if rv != nil {
		prov = rv.Provisioner.Name
	}
	a.sshDecided(ctx, meter.OpSSHRevoke, prov, nil, req.Serial, err)
	return rv, err
}

func (a *Authority) revokeSSH(ctx context.Context, req *SSHRevokeRequest) (*Revoked, error) {
	serial := req.Serial
	if _, err := strconv.ParseUint(serial, 10, 64); err != nil {
		return nil, errs.Errorf(errs.BadRequest, "'%s' is not a valid ssh certificate serial number: want a decimal number below 2^64", serial)
	}
	if req.OTT == "" {
		return nil, errs.E(errs.BadRequest, "missing ott", nil)
	}
	st, ok := a.store.(store.SSHStore)
	if !ok {
		return nil, errs.E(errs.NotImplemented, "revocation requires a database", nil)
	}
	p, tok, err := a.authorizeToken(ctx, req.OTT, func(p provisioner.Interface, tok *token.Token) error {
		r, ok := p.(provisioner.SSHRevoker)
		if !ok {
			return errs.Errorf(errs.Unauthorized, "provisioner '%s' does not revoke ssh certificates", p.Info().Name)
		}
		if err := r.AuthorizeSSHRevoke(ctx, tok); err != nil {
			return err
		}
		if _, any := p.(provisioner.AnySerialRevoker); !any && tok.Claims.Subject != serial {
			return errs.Errorf(errs.Forbidden, "request serial number %q and token subject %q do not match", serial, tok.Claims.Subject)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	rec := &store.Revocation{
		Serial: serial, ProvisionerID: p.Info().ID, ReasonCode: req.ReasonCode, Reason: req.Reason,
		RevokedAt: a.now().UTC(), TokenID: tok.Claims.ID,
	}
	if c, err := st.GetSSHCertificate(ctx, serial); err == nil {
		if cert, err := ssh.ParseCertificate(c.Wire); err == nil {
			rec.ExpiresAt = ssh.Time(cert.ValidBefore).UTC()
		}
	}
	defer a.expectWrite()()
	if err := st.RevokeSSH(ctx, rec); err != nil {
		if errors.Is(err, store.ErrAlreadyRevoked) {
			return nil, errs.Errorf(errs.BadRequest, "ssh certificate with serial number '%s' is already revoked", serial)
		}
		return nil, storeError("error revoking ssh certificate", err)
	}
	if a.ssh != nil && a.ssh.krl != nil {
		a.ssh.krl.add(rec)
	}
	return &Revoked{Serial: serial, Provisioner: p.Info()}, nil
}

// IsSSHRevoked reports whether serial is in revoked_ssh_certs.
func (a *Authority) IsSSHRevoked(ctx context.Context, serial string) (bool, error) {
	st, ok := a.store.(store.SSHStore)
	if !ok {
		return false, nil
	}
	_, err := st.GetSSHRevocation(ctx, serial)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, store.ErrNotFound), errs.KindOf(err) == errs.NotImplemented:
		return false, nil
	}
	return false, storeError("error reading ssh revocation", err)
}
