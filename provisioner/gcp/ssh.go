package gcp

import (
	"context"

	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/provisioner"
	"github.com/mayfly-pki/mayfly/provisioner/token"
)

var _ provisioner.SSHAuthorizer = (*Provisioner)(nil)

// AuthorizeSSHSign implements provisioner.SSHAuthorizer as step-ca's GCP
// provisioner does: host certificates only, the instance name as key ID;
// with disableCustomSANs the principals are the instance's two internal
// DNS names (DNSNames; the request may ask for a subset), otherwise the
// request names them and must name at least one.
func (p *Provisioner) AuthorizeSSHSign(_ context.Context, tok *token.Token) (*provisioner.SSHPlan, error) {
	if err := provisioner.CheckSSHEnabled(p.Claims(), p.Info().Name); err != nil {
		return nil, err
	}
	if h := p.cfg.DisableSSHCAHost; h != nil && *h {
		return nil, errs.Errorf(errs.Unauthorized, "gcp.AuthorizeSSHSign; ssh host certificates are disabled for gcp provisioner '%s'", p.Info().Name)
	}
	pl, err := p.authorize(tok)
	if err != nil {
		return nil, err
	}
	ce := &pl.Google.ComputeEngine
	return provisioner.InstanceHostSSHPlan(p.Info(), p.Claims(), ce.InstanceName, p.cfg.DisableCustomSANs, DNSNames(ce)), nil
}

// AuthorizeSSHRevoke is not offered: step-ca's GCP provisioner revokes nothing.
func (p *Provisioner) AuthorizeSSHRevoke(context.Context, *token.Token) error {
	return errs.Errorf(errs.Unauthorized, "gcp.AuthorizeSSHRevoke; revoke is not supported by the GCP provisioner %q", p.Info().Name)
}
