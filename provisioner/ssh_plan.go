package provisioner

import (
	"context"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/internal/timeutil"
	"github.com/mayfly-pki/mayfly/provisioner/token"
	"github.com/mayfly-pki/mayfly/ssh"
)

// SSHPlan is what a provisioner allows for one SSH certificate, the SSH
// counterpart of X509Plan. The authority applies it in this order, for
// every type alike:
//
//  1. the request's options must match Allowed (ssh.Options.Match: the same
//     type, principals among Allowed's, the same validity bounds);
//  2. the certificate takes Allowed's type, key ID and principals (the
//     provisioner fills the defaults: a user certificate, the token subject
//     as key ID and principal), and the validity Allowed sets, else the
//     request's, else the claims' default (ssh.Window);
//  3. the key policy (ssh.CheckKey), the validity against Claims, and the
//     authority's SSH name policy are checked;
//  4. Modifiers change the certificate (extensions, critical options);
//  5. the certificate is signed with the user or host CA key and persisted.
type SSHPlan struct {
	Info   Info
	Claims Resolved
	// Allowed is what the credential grants. An empty CertType, KeyID or
	// Principals leaves the choice to the request (an OIDC admin); the
	// defaults are then a user certificate and the request's key ID.
	Allowed   ssh.Options
	Modifiers []SSHCertModifier
	// RequireOptions says the request must name the certificate type, key
	// ID and principals itself (step-ca's K8sSA).
	RequireOptions bool
	// Renewal says Allowed's window is an earlier certificate's, moved
	// to now (SSHPOP renew and rekey): the claims' duration bounds are
	// not applied, as step-ca does not.
	Renewal bool
}

// SSHRenewer is implemented by provisioners whose tokens renew or rekey
// SSH certificates (SSHPOP, wire-spec §4.5): each verifies tok for
// PurposeSSHRenew or PurposeSSHRekey and returns the certificate the token
// proves possession of. The caller checks it is not revoked.
type SSHRenewer interface {
	AuthorizeSSHRenew(ctx context.Context, tok *token.Token) (*gossh.Certificate, error)
	AuthorizeSSHRekey(ctx context.Context, tok *token.Token) (*gossh.Certificate, error)
}

// SSHCertModifier changes the SSH certificate being built, before it is
// signed. Errors are *errs.Error values.
type SSHCertModifier interface {
	ModifySSHCert(c *SSHCert) error
}

// SSHCert is the part of an SSH certificate a modifier may change.
// ValidBefore may only be shortened (a credential's own expiry).
type SSHCert struct {
	CertType        uint32
	KeyID           string
	Principals      []string
	CriticalOptions map[string]string
	Extensions      map[string]string
	ValidAfter      time.Time
	ValidBefore     time.Time
}

// SSHAuthorizer is implemented by provisioners that issue SSH certificates.
// AuthorizeSSHSign verifies tok for PurposeSSHSign and returns the plan. It
// returns *errs.Error values: Unauthorized when the provisioner's claims do
// not enable SSH (enableSSHCA) or the token does not hold.
type SSHAuthorizer interface {
	AuthorizeSSHSign(ctx context.Context, tok *token.Token) (*SSHPlan, error)
}

// SSHRevoker is implemented by provisioners whose tokens revoke SSH
// certificates: AuthorizeSSHRevoke verifies tok for PurposeSSHRevoke; the
// caller checks that its subject is the serial.
type SSHRevoker interface {
	AuthorizeSSHRevoke(ctx context.Context, tok *token.Token) error
}

// SSHLimits returns the claims' bounds for a certificate type.
func (r Resolved) SSHLimits(certType string) ssh.Limits {
	if certType == ssh.HostCert {
		return ssh.Limits{Min: r.MinHostSSHDur, Max: r.MaxHostSSHDur, Default: r.DefaultHostSSHDur}
	}
	return ssh.Limits{Min: r.MinUserSSHDur, Max: r.MaxUserSSHDur, Default: r.DefaultUserSSHDur}
}

// CheckSSHEnabled refuses SSH for a provisioner whose claims do not set
// enableSSHCA (wire-spec §4.9).
func CheckSSHEnabled(c Resolved, name string) error {
	if !c.EnableSSHCA {
		return errs.Errorf(errs.Unauthorized, "ssh ca is disabled for provisioner '%s'", name)
	}
	return nil
}

// SSHAllowedFromToken turns a token's step.ssh claim into what the
// credential allows, with step-ca's defaults: a user certificate, the
// subject as key ID and as the only principal. Relative validity bounds
// are kept relative: the authority resolves them when it signs.
func SSHAllowedFromToken(o *token.SSHOptions, subject string) (ssh.Options, error) {
	a := ssh.Options{CertType: ssh.UserCert, KeyID: subject, Principals: []string{subject}}
	if o == nil {
		return a, nil
	}
	if o.CertType != "" {
		if _, err := ssh.CertType(o.CertType); err != nil {
			return a, errs.Errorf(errs.Unauthorized, "invalid certType '%s' in the token's step.ssh claim", o.CertType)
		}
		a.CertType = o.CertType
	}
	if o.KeyID != "" {
		a.KeyID = o.KeyID
	}
	if len(o.Principals) > 0 {
		a.Principals = o.Principals
	}
	var err error
	if a.ValidAfter, err = timeutil.Parse(o.ValidAfter); err != nil {
		return a, errs.E(errs.Unauthorized, "invalid validAfter in the token's step.ssh claim", err)
	}
	if a.ValidBefore, err = timeutil.Parse(o.ValidBefore); err != nil {
		return a, errs.E(errs.Unauthorized, "invalid validBefore in the token's step.ssh claim", err)
	}
	return a, nil
}

// InstanceHostSSHPlan is what a cloud instance identity (AWS, GCP, Azure)
// grants, as step-ca's provisioners do: a host certificate with the
// instance's keyID; with disableCustomSANs the principals are the
// instance's own names (the request may ask for a subset), otherwise the
// request names them (trust on first use) and must name at least one.
func InstanceHostSSHPlan(info Info, c Resolved, keyID string, disableCustomSANs bool, names []string) *SSHPlan {
	allowed := ssh.Options{CertType: ssh.HostCert, KeyID: keyID}
	if disableCustomSANs {
		allowed.Principals = names
	}
	return &SSHPlan{Info: info, Claims: c, Allowed: allowed}
}

// SSHTokenAllowed is SSHAllowedFromToken for the claims of a verified
// token of a provisioner of type typ ("jwk", "x5c") whose SSH tokens must
// carry step.ssh (wire-spec §4.3): one without it is Unauthorized.
func SSHTokenAllowed(c *token.Claims, typ string) (ssh.Options, error) {
	if c.Step == nil || c.Step.SSH == nil {
		return ssh.Options{}, errs.Errorf(errs.Unauthorized, "%s.AuthorizeSSHSign; %s token must be an SSH provisioning token: it has no step.ssh claim", typ, typ)
	}
	return SSHAllowedFromToken(c.Step.SSH, c.Subject)
}
