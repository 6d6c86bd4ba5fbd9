package aws

import (
	"context"

	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/provisioner"
	"github.com/mayfly-pki/mayfly/provisioner/token"
)

var _ provisioner.SSHAuthorizer = (*Provisioner)(nil)

// AuthorizeSSHSign implements provisioner.SSHAuthorizer as step-ca's AWS
// provisioner does: host certificates only, the instance ID as key ID;
// with disableCustomSANs the principals are the instance's private IP and
// DNS name (the request may ask for a subset), otherwise the request names
// them (trust on first use) and must name at least one.
func (p *Provisioner) AuthorizeSSHSign(_ context.Context, tok *token.Token) (*provisioner.SSHPlan, error) {
	if err := provisioner.CheckSSHEnabled(p.Claims(), p.Info().Name); err != nil {
		return nil, err
	}
	doc, err := p.authorize(tok)
	if err != nil {
		return nil, err
	}
	names := []string{doc.PrivateIP, DNSName(doc)}
	return provisioner.InstanceHostSSHPlan(p.Info(), p.Claims(), doc.InstanceID, p.cfg.DisableCustomSANs, names), nil
}

// AuthorizeSSHRevoke is not offered: step-ca's AWS provisioner revokes nothing.
func (p *Provisioner) AuthorizeSSHRevoke(context.Context, *token.Token) error {
	return errs.Errorf(errs.Unauthorized, "aws.AuthorizeSSHRevoke; revoke is not supported by the AWS provisioner %q", p.Info().Name)
}
