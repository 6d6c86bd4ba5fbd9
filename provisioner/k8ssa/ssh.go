package k8ssa

import (
	"context"

	"github.com/mayfly-pki/mayfly/provisioner"
	"github.com/mayfly-pki/mayfly/provisioner/token"
)

var _ provisioner.SSHAuthorizer = (*Provisioner)(nil)

// AuthorizeSSHSign implements provisioner.SSHAuthorizer as step-ca's K8sSA
// does: a valid service account token, and the request names the
// certificate type, key ID and principals itself (the authority's SSH
// policy still applies).
func (p *Provisioner) AuthorizeSSHSign(_ context.Context, tok *token.Token) (*provisioner.SSHPlan, error) {
	if err := provisioner.CheckSSHEnabled(p.claims, p.info.Name); err != nil {
		return nil, err
	}
	if err := p.authorize(tok); err != nil {
		return nil, err
	}
	return &provisioner.SSHPlan{Info: p.info, Claims: p.claims, RequireOptions: true}, nil
}
