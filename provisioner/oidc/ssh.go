package oidc

import (
	"context"
	"strings"

	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/provisioner"
	"github.com/mayfly-pki/mayfly/provisioner/token"
	"github.com/mayfly-pki/mayfly/ssh"
)

var (
	_ provisioner.SSHAuthorizer = (*Provisioner)(nil)
	_ provisioner.SSHRevoker    = (*Provisioner)(nil)
)

// AuthorizeSSHSign implements provisioner.SSHAuthorizer as step-ca's OIDC
// does: a user certificate whose key ID is the email and whose principals
// are the sanitised local part, the local part and the email
// (SSHPrincipals). An admin chooses the type, key ID and principals.
func (p *Provisioner) AuthorizeSSHSign(ctx context.Context, tok *token.Token) (*provisioner.SSHPlan, error) {
	if err := provisioner.CheckSSHEnabled(p.claims, p.info.Name); err != nil {
		return nil, err
	}
	pl, err := p.authorize(ctx, tok)
	if err != nil {
		return nil, err
	}
	if p.isAdmin(pl) {
		return &provisioner.SSHPlan{Info: p.info, Claims: p.claims, Allowed: ssh.Options{KeyID: pl.Email}}, nil
	}
	if pl.Email == "" {
		return nil, errs.Errorf(errs.Unauthorized, "oidc.AuthorizeSSHSign; failed to get identity: the token has no email")
	}
	principals, err := SSHPrincipals(pl.Email)
	if err != nil {
		return nil, err
	}
	return &provisioner.SSHPlan{Info: p.info, Claims: p.claims, Allowed: ssh.Options{
		CertType: ssh.UserCert, KeyID: pl.Email, Principals: principals,
	}}, nil
}

// AuthorizeSSHRevoke implements provisioner.SSHRevoker: admins only, as
// for X.509 (RevokesAnySerial).
func (p *Provisioner) AuthorizeSSHRevoke(ctx context.Context, tok *token.Token) error {
	if err := provisioner.CheckSSHEnabled(p.claims, p.info.Name); err != nil {
		return err
	}
	return p.AuthorizeRevoke(ctx, tok)
}

// SSHPrincipals are step-ca's principals of an email: the local part
// sanitised for a Unix user name (lower case; characters other than
// a-z, 0-9, '.', '_' and '-' become '_'), the local part as is when it
// differs, and the email.
func SSHPrincipals(email string) ([]string, error) {
	local := email
	if i := strings.LastIndexByte(email, '@'); i >= 0 {
		local = email[:i]
	}
	if local == "" {
		return nil, errs.Errorf(errs.Unauthorized, "oidc.AuthorizeSSHSign; invalid principal from email %q", email)
	}
	name := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
			return r
		case r >= 'A' && r <= 'Z':
			return r + 'a' - 'A'
		}
		return '_'
	}, local)
	out := []string{name}
	if local != name {
		out = append(out, local)
	}
	if email != local {
		out = append(out, email)
	}
	return out, nil
}
