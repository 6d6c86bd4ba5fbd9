package jwk

import (
	"context"

	"github.com/mayfly-pki/mayfly/provisioner"
	"github.com/mayfly-pki/mayfly/provisioner/token"
)

var (
	_ provisioner.SSHAuthorizer = (*Provisioner)(nil)
	_ provisioner.SSHRevoker    = (*Provisioner)(nil)
)

// AuthorizeSSHSign implements provisioner.SSHAuthorizer: an SSH token
// carries the step.ssh claim (wire-spec §4.3), which says what the request
// may ask for; the provisioner's claims must enable SSH.
func (p *Provisioner) AuthorizeSSHSign(_ context.Context, tok *token.Token) (*provisioner.SSHPlan, error) {
	if err := provisioner.CheckSSHEnabled(p.claims, p.info.Name); err != nil {
		return nil, err
	}
	if err := p.authorize(tok, provisioner.PurposeSSHSign); err != nil {
		return nil, err
	}
	allowed, err := provisioner.SSHTokenAllowed(&tok.Claims, "jwk")
	if err != nil {
		return nil, err
	}
	return &provisioner.SSHPlan{Info: p.info, Claims: p.claims, Allowed: allowed}, nil
}

// AuthorizeSSHRevoke implements provisioner.SSHRevoker.
func (p *Provisioner) AuthorizeSSHRevoke(_ context.Context, tok *token.Token) error {
	if err := provisioner.CheckSSHEnabled(p.claims, p.info.Name); err != nil {
		return err
	}
	return p.authorize(tok, provisioner.PurposeSSHRevoke)
}
