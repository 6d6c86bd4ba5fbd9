package authority

import (
	"context"
	"maps"
	"strconv"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/internal/meter"
	"github.com/mayfly-pki/mayfly/internal/timeutil"
	"github.com/mayfly-pki/mayfly/provisioner"
	"github.com/mayfly-pki/mayfly/provisioner/token"
	"github.com/mayfly-pki/mayfly/ssh"
)

// RenewSSH renews the host certificate an SSHPOP token proves possession
// of (wire-spec §3.4 POST /ssh/renew): same key, type, key ID, principals
// and extensions; the validity is the old one's length, starting now −
// backdate. A revoked certificate is refused (401).
func (a *Authority) RenewSSH(ctx context.Context, ott string) (*SSHIssued, error) {
	res, err := a.renewSSH(ctx, ott, nil)
	a.sshDecided(ctx, meter.OpSSHRenew, "", res, "", err)
	return res, err
}

// RekeySSH is RenewSSH with a new public key (POST /ssh/rekey).
func (a *Authority) RekeySSH(ctx context.Context, ott string, key gossh.PublicKey) (*SSHIssued, error) {
	var res *SSHIssued
	var err error = errs.E(errs.BadRequest, "missing or empty publicKey", nil)
	if key != nil {
		res, err = a.renewSSH(ctx, ott, key)
	}
	a.sshDecided(ctx, meter.OpSSHRekey, "", res, "", err)
	return res, err
}

func (a *Authority) renewSSH(ctx context.Context, ott string, newKey gossh.PublicKey) (*SSHIssued, error) {
	if !a.SSHEnabled() {
		return nil, errSSHDisabled()
	}
	if ott == "" {
		return nil, errs.E(errs.BadRequest, "missing or empty ott", nil)
	}
	var old *gossh.Certificate
	p, _, err := a.authorizeToken(ctx, ott, func(p provisioner.Interface, tok *token.Token) error {
		r, ok := p.(provisioner.SSHRenewer)
		if !ok {
			return errs.Errorf(errs.Unauthorized, "provisioner '%s' does not renew ssh certificates", p.Info().Name)
		}
		var err error
		if newKey == nil {
			old, err = r.AuthorizeSSHRenew(ctx, tok)
		} else {
			old, err = r.AuthorizeSSHRekey(ctx, tok)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	serial := strconv.FormatUint(old.Serial, 10)
	revoked, err := a.IsSSHRevoked(ctx, serial)
	if err != nil {
		return nil, err
	}
	if revoked {
		return nil, errs.Errorf(errs.Unauthorized, "ssh certificate %s has been revoked", serial)
	}
	key := old.Key
	if newKey != nil {
		key = newKey
	}
	start := a.now().Add(-a.backdate)
	life := time.Duration(old.ValidBefore-old.ValidAfter) * time.Second
	plan := &provisioner.SSHPlan{
		Info: p.Info(), Claims: p.Claims(), Renewal: true,
		Allowed: ssh.Options{
			CertType: ssh.CertTypeName(old.CertType), KeyID: old.KeyId, Principals: old.ValidPrincipals,
			ValidAfter: timeutil.NewTimeDuration(start), ValidBefore: timeutil.NewTimeDuration(start.Add(life)),
		},
		Modifiers: []provisioner.SSHCertModifier{keepPermissions{old.Permissions}},
	}
	return a.SignSSHWithPlan(ctx, &SSHSignRequest{PublicKey: key}, plan)
}

// keepPermissions gives the new certificate the old one's critical
// options and extensions.
type keepPermissions struct{ p gossh.Permissions }

func (k keepPermissions) ModifySSHCert(c *provisioner.SSHCert) error {
	c.CriticalOptions = maps.Clone(k.p.CriticalOptions)
	c.Extensions = maps.Clone(k.p.Extensions)
	return nil
}
