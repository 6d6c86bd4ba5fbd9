package authority

import (
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/internal/meter"
	"github.com/mayfly-pki/mayfly/provisioner"
	"github.com/mayfly-pki/mayfly/provisioner/token"
	"github.com/mayfly-pki/mayfly/ssh"
)

// SSHConfig is the ca.json "ssh" block, loaded: the CA keys (either may be
// nil: that kind of certificate is then not issued) and the extra public
// keys of ssh.keys.
type SSHConfig struct {
	UserKey, HostKey crypto.Signer
	// UserKeys and HostKeys are ssh.keys entries that are not federated:
	// served by /ssh/roots beside the CA keys. The Federated ones are
	// served by /ssh/federation only.
	UserKeys, HostKeys                   []gossh.PublicKey
	UserFederatedKeys, HostFederatedKeys []gossh.PublicKey
	// Bastion is ssh.bastion (nil: none).
	Bastion *SSHBastion
	// DisableGetHosts is authority.disableGetSSHHosts.
	DisableGetHosts bool
	// Policy is authority.policy.ssh (nil: none).
	Policy *SSHPolicy
	// Templates are the `step ssh config` templates (nil: none).
	Templates *SSHTemplates
	// KRLInterval is how often the key revocation list is rebuilt from the
	// store (other HA nodes' revocations); 0 means a minute.
	KRLInterval time.Duration
	// AddUserPrincipal and AddUserCommand are ssh.addUserPrincipal and
	// ssh.addUserCommand ("": step-ca's defaults).
	AddUserPrincipal, AddUserCommand string
}

// SSHBastion is ssh.bastion (wire-spec §3.4 POST /ssh/bastion).
type SSHBastion struct {
	Hostname string `json:"hostname"`
	User     string `json:"user,omitempty"`
	Port     string `json:"port,omitempty"`
	Command  string `json:"cmd,omitempty"`
	Flags    string `json:"flags,omitempty"`
}

// sshCA is the SSH half of an authority snapshot.
type sshCA struct {
	user, host gossh.Signer // nil: not issued
	cfg        SSHConfig
	policy     *sshPolicy
	krl        *krlCache
}

func newSSHCA(c *SSHConfig) (*sshCA, error) {
	s := &sshCA{cfg: *c}
	var err error
	if c.UserKey != nil {
		if s.user, err = ssh.NewSigner(c.UserKey); err != nil {
			return nil, errors.New("ssh.userKey: " + err.Error())
		}
	}
	if c.HostKey != nil {
		if s.host, err = ssh.NewSigner(c.HostKey); err != nil {
			return nil, errors.New("ssh.hostKey: " + err.Error())
		}
	}
	if s.policy, err = newSSHPolicy(c.Policy); err != nil {
		return nil, err
	}
	return s, nil
}

// SSHEnabled reports whether ca.json has an ssh block with a key.
func (a *Authority) SSHEnabled() bool {
	return a.ssh != nil && (a.ssh.user != nil || a.ssh.host != nil)
}

// SSHCAKeys returns the public keys of the CA's own SSH signers (ssh.hostKey,
// ssh.userKey), nil for one not configured.
func (a *Authority) SSHCAKeys() (host, user gossh.PublicKey) {
	if a.ssh == nil {
		return nil, nil
	}
	if a.ssh.host != nil {
		host = a.ssh.host.PublicKey()
	}
	if a.ssh.user != nil {
		user = a.ssh.user.PublicKey()
	}
	return host, user
}

// SSHKeys are the public keys of /ssh/roots or /ssh/federation.
type SSHKeys struct {
	User, Host []gossh.PublicKey
}

// SSHRoots returns the CA's SSH keys and ssh.keys' non-federated ones, or
// NotFound when SSH is not configured (wire-spec §3.4).
func (a *Authority) SSHRoots() (*SSHKeys, error) {
	if !a.SSHEnabled() {
		return nil, errs.E(errs.NotFound, "no keys found", nil)
	}
	k := &SSHKeys{}
	if a.ssh.user != nil {
		k.User = append(k.User, a.ssh.user.PublicKey())
	}
	if a.ssh.host != nil {
		k.Host = append(k.Host, a.ssh.host.PublicKey())
	}
	k.User = append(k.User, a.ssh.cfg.UserKeys...)
	k.Host = append(k.Host, a.ssh.cfg.HostKeys...)
	return k, nil
}

// SSHFederation is SSHRoots with the federated keys.
func (a *Authority) SSHFederation() (*SSHKeys, error) {
	k, err := a.SSHRoots()
	if err != nil {
		return nil, err
	}
	k.User = append(k.User, a.ssh.cfg.UserFederatedKeys...)
	k.Host = append(k.Host, a.ssh.cfg.HostFederatedKeys...)
	return k, nil
}

// SSHSignRequest is one POST /ssh/sign, parsed.
type SSHSignRequest struct {
	PublicKey gossh.PublicKey
	OTT       string
	// Options are what the request asks for (validity bounds resolved).
	Options ssh.Options
	// TemplateData is the request's templateData: .Insecure.User of the
	// provisioner's SSH template, if any.
	TemplateData json.RawMessage

	tok *token.Token // the authorized token (SignSSH): .Token of templates
}

// SSHIssued is a signed and persisted SSH certificate.
type SSHIssued struct {
	Cert        *gossh.Certificate
	Provisioner provisioner.Info
}

// errSSHDisabled is step-ca's answer when ca.json has no ssh block.
func errSSHDisabled() error {
	return errs.E(errs.NotImplemented, "ssh certificate flows are not enabled", nil)
}

// SignSSH authorizes req's token and applies the provisioner's SSH plan in
// provisioner.SSHPlan's order. It knows no provisioner type.
func (a *Authority) SignSSH(ctx context.Context, req *SSHSignRequest) (*SSHIssued, error) {
	var prov string
	res, err := a.signSSH(ctx, req, &prov)
	a.sshDecided(ctx, meter.OpSSHSign, prov, res, "", err)
	return res, err
}

// signSSH is SignSSH; it sets *prov to the token's provisioner once found.
func (a *Authority) signSSH(ctx context.Context, req *SSHSignRequest, prov *string) (*SSHIssued, error) {
	if !a.SSHEnabled() {
		return nil, errSSHDisabled()
	}
	var plan *provisioner.SSHPlan
	_, _, err := a.authorizeToken(ctx, req.OTT, func(p provisioner.Interface, tok *token.Token) error {
		*prov = p.Info().Name
		sp, ok := p.(provisioner.SSHAuthorizer)
		if !ok {
			return errs.Errorf(errs.Unauthorized, "provisioner '%s' does not issue ssh certificates", p.Info().Name)
		}
		var err error
		plan, err = sp.AuthorizeSSHSign(ctx, tok)
		req.tok = tok
		return err
	})
	if err != nil {
		return nil, err
	}
	return a.SignSSHWithPlan(ctx, req, plan)
}

// SignSSHWithPlan issues the certificate of an authorized plan (SignSSH
// after the authorization; SSHPOP renew and rekey build their own plan).
func (a *Authority) SignSSHWithPlan(ctx context.Context, req *SSHSignRequest, plan *provisioner.SSHPlan) (*SSHIssued, error) {
	if !a.SSHEnabled() {
		return nil, errSSHDisabled()
	}
	// Authorized: from here the request may write (store.WriteHinter).
	defer a.expectWrite()()
	if err := plan.Allowed.Match(req.Options); err != nil {
		return nil, err
	}
	if plan.RequireOptions {
		switch {
		case req.Options.CertType == "":
			return nil, errs.Errorf(errs.Forbidden, "ssh certificate certType cannot be empty")
		case req.Options.KeyID == "":
			return nil, errs.Errorf(errs.Forbidden, "ssh certificate keyID cannot be empty")
		case len(req.Options.Principals) == 0:
			return nil, errs.Errorf(errs.Forbidden, "ssh certificate principals cannot be empty")
		}
	}
	allowed := plan.Allowed
	if allowed.CertType == "" {
		allowed.CertType = req.Options.CertType
	}
	if allowed.KeyID == "" {
		allowed.KeyID = req.Options.KeyID
	}
	if len(allowed.Principals) == 0 {
		allowed.Principals = req.Options.Principals
	}
	// step-ca's sshCertDefaultValidator.
	if allowed.KeyID == "" {
		return nil, errs.Errorf(errs.Forbidden, "ssh certificate key id cannot be empty")
	}
	if len(allowed.Principals) == 0 {
		return nil, errs.Errorf(errs.Forbidden, "ssh certificate valid principals cannot be empty")
	}
	certType, err := ssh.CertType(allowed.CertType)
	if err != nil {
		return nil, err
	}
	signer := a.ssh.user
	if certType == gossh.HostCert {
		signer = a.ssh.host
	}
	if signer == nil {
		return nil, errs.Errorf(errs.NotImplemented, "signing %s certificates is not enabled: ca.json has no ssh.%sKey", ssh.CertTypeName(certType), ssh.CertTypeName(certType))
	}
	if err := ssh.CheckKey(req.PublicKey); err != nil {
		return nil, err
	}
	after, before := allowed.ValidAfter, allowed.ValidBefore
	if after.IsZero() {
		after = req.Options.ValidAfter
	}
	if before.IsZero() {
		before = req.Options.ValidBefore
	}
	lim := plan.Claims.SSHLimits(ssh.CertTypeName(certType))
	if plan.Renewal {
		lim = ssh.Limits{Max: 1<<63 - 1}
	}
	va, vb, err := ssh.Window(a.now(), a.backdate, after, before, lim)
	if err != nil {
		return nil, err
	}
	cert, err := ssh.NewCertificate(req.PublicKey, certType, allowed.KeyID, allowed.Principals, va, vb)
	if err != nil {
		return nil, errs.E(errs.Internal, "error creating ssh certificate", err)
	}
	if t := a.sshTemplates[plan.Info.Name]; t != nil && !plan.Renewal {
		if err := applySSHTemplate(t, req, cert); err != nil {
			return nil, err
		}
		if cert.CertType != certType {
			certType = cert.CertType
			if signer = a.ssh.user; certType == gossh.HostCert {
				signer = a.ssh.host
			}
			if signer == nil {
				return nil, errs.Errorf(errs.NotImplemented, "signing %s certificates is not enabled: ca.json has no ssh.%sKey", ssh.CertTypeName(certType), ssh.CertTypeName(certType))
			}
		}
	}
	if len(plan.Modifiers) > 0 {
		m := provisioner.SSHCert{
			CertType: cert.CertType, KeyID: cert.KeyId, Principals: cert.ValidPrincipals,
			CriticalOptions: cert.CriticalOptions, Extensions: cert.Extensions, ValidAfter: va, ValidBefore: vb,
		}
		for _, mod := range plan.Modifiers {
			if err := mod.ModifySSHCert(&m); err != nil {
				return nil, err
			}
		}
		cert.CertType, cert.KeyId, cert.ValidPrincipals = m.CertType, m.KeyID, m.Principals
		cert.CriticalOptions, cert.Extensions = m.CriticalOptions, m.Extensions
		if m.ValidBefore.Before(vb) {
			if !m.ValidBefore.After(a.now()) {
				return nil, errs.Errorf(errs.Forbidden, "ssh certificate validBefore cannot be in the past")
			}
			cert.ValidBefore = uint64(m.ValidBefore.Unix())
		}
	}
	if err := a.checkSSHPolicy(plan.Info.Name, cert); err != nil {
		return nil, err
	}
	if err := ssh.Sign(cert, signer); err != nil {
		return nil, err
	}
	if err := a.storeSSH(ctx, cert); err != nil {
		return nil, err
	}
	return &SSHIssued{Cert: cert, Provisioner: plan.Info}, nil
}

// storeSSH persists cert when the store keeps SSH records (every backend).
func (a *Authority) storeSSH(ctx context.Context, cert *gossh.Certificate) error {
	st, ok := a.store.(store.SSHStore)
	if !ok {
		return nil
	}
	rec := &store.SSHCertificate{
		Serial: strconv.FormatUint(cert.Serial, 10), Wire: cert.Marshal(), Host: cert.CertType == gossh.HostCert,
		Principals: cert.ValidPrincipals, ValidBefore: ssh.Time(cert.ValidBefore).UTC(),
	}
	if err := st.StoreSSHCertificate(ctx, rec); err != nil {
		return storeError("error storing ssh certificate", err)
	}
	return nil
}

// SSHHosts lists the principals of unexpired host certificates (wire-spec
// §3.4 GET /ssh/hosts), lower-cased, in the store's order.
func (a *Authority) SSHHosts(ctx context.Context) ([]string, error) {
	if a.ssh != nil && a.ssh.cfg.DisableGetHosts {
		return nil, errs.E(errs.NotFound, "ssh hosts are disabled", nil)
	}
	st, ok := a.store.(store.SSHStore)
	if !ok {
		return nil, errs.E(errs.NotImplemented, "ssh hosts require a database", nil)
	}
	hs, err := st.ListSSHHosts(ctx)
	if err != nil {
		return nil, storeError("error listing ssh hosts", err)
	}
	now := a.now()
	out := make([]string, 0, len(hs))
	for _, h := range hs {
		if h.Expiry.After(now) {
			out = append(out, h.Principal)
		}
	}
	return out, nil
}

// SSHCheckHost reports whether principal is a host the CA issued a
// certificate to (wire-spec §3.4 POST /ssh/check-host): no expiry or
// revocation check, as step-ca.
func (a *Authority) SSHCheckHost(ctx context.Context, principal string) (bool, error) {
	st, ok := a.store.(store.SSHStore)
	if !ok {
		return false, nil
	}
	hs, err := st.ListSSHHosts(ctx)
	if err != nil {
		return false, storeError("error reading ssh hosts", err)
	}
	p := strings.ToLower(principal)
	for _, h := range hs {
		if h.Principal == p {
			return true, nil
		}
	}
	return false, nil
}

// sshKeys are the keys SSHPOP certificates may be signed by: the CA's and
// the non-federated ssh.keys.
func (a *Authority) sshKeys() (user, host []gossh.PublicKey) {
	k, err := a.SSHRoots()
	if err != nil {
		return nil, nil
	}
	return k.User, k.Host
}

// SSHBastion returns ssh.bastion, or nil.
func (a *Authority) SSHBastion() *SSHBastion {
	if a.ssh == nil {
		return nil
	}
	return a.ssh.cfg.Bastion
}
