package x5c

import (
	"context"
	"time"

	"github.com/mayfly-pki/mayfly/provisioner"
	"github.com/mayfly-pki/mayfly/provisioner/token"
)

var (
	_ provisioner.SSHAuthorizer = (*Provisioner)(nil)
	_ provisioner.SSHRevoker    = (*Provisioner)(nil)
)

// AuthorizeSSHSign implements provisioner.SSHAuthorizer as step-ca's X5C
// does: the token carries step.ssh (wire-spec §4.3, §4.4) and the
// certificate expires no later than the x5c leaf.
func (p *Provisioner) AuthorizeSSHSign(_ context.Context, tok *token.Token) (*provisioner.SSHPlan, error) {
	if err := provisioner.CheckSSHEnabled(p.claims, p.info.Name); err != nil {
		return nil, err
	}
	chain, err := p.authorize(tok, provisioner.PurposeSSHSign)
	if err != nil {
		return nil, err
	}
	allowed, err := provisioner.SSHTokenAllowed(&tok.Claims, "x5c")
	if err != nil {
		return nil, err
	}
	return &provisioner.SSHPlan{
		Info: p.info, Claims: p.claims, Allowed: allowed,
		Modifiers: []provisioner.SSHCertModifier{leafCap(chain[0].NotAfter)},
	}, nil
}

// leafCap cuts the certificate's validity at the x5c leaf's NotAfter.
type leafCap time.Time

func (l leafCap) ModifySSHCert(c *provisioner.SSHCert) error {
	if t := time.Time(l); c.ValidBefore.After(t) {
		c.ValidBefore = t
	}
	return nil
}

// AuthorizeSSHRevoke implements provisioner.SSHRevoker.
func (p *Provisioner) AuthorizeSSHRevoke(_ context.Context, tok *token.Token) error {
	if err := provisioner.CheckSSHEnabled(p.claims, p.info.Name); err != nil {
		return err
	}
	_, err := p.authorize(tok, provisioner.PurposeSSHRevoke)
	return err
}
