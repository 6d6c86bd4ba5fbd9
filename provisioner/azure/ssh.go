package azure

import (
	"context"

	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/provisioner"
	"github.com/mayfly-pki/mayfly/provisioner/token"
)

var _ provisioner.SSHAuthorizer = (*Provisioner)(nil)

// AuthorizeSSHSign implements provisioner.SSHAuthorizer as step-ca's Azure
// provisioner does: host certificates only, the virtual machine's name as
// key ID; with disableCustomSANs that name is the only principal,
// otherwise the request names them and must name at least one.
func (p *Provisioner) AuthorizeSSHSign(_ context.Context, tok *token.Token) (*provisioner.SSHPlan, error) {
	if err := provisioner.CheckSSHEnabled(p.Claims(), p.Info().Name); err != nil {
		return nil, err
	}
	id, err := p.authorizeMachine(tok, "azure.AuthorizeSSHSign")
	if err != nil {
		return nil, err
	}
	return provisioner.InstanceHostSSHPlan(p.Info(), p.Claims(), id.name, p.cfg.DisableCustomSANs, []string{id.name}), nil
}

// AuthorizeSSHRevoke is not offered: step-ca's Azure provisioner revokes nothing.
func (p *Provisioner) AuthorizeSSHRevoke(context.Context, *token.Token) error {
	return errs.Errorf(errs.Unauthorized, "azure.AuthorizeSSHRevoke; revoke is not supported by the Azure provisioner %q", p.Info().Name)
}
