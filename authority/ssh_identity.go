package authority

import (
	"context"
	"crypto/x509"
	"net/url"
	"slices"
	"strings"

	gossh "golang.org/x/crypto/ssh"

	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/internal/meter"
	"github.com/mayfly-pki/mayfly/internal/timeutil"
	"github.com/mayfly-pki/mayfly/provisioner"
	"github.com/mayfly-pki/mayfly/provisioner/token"
	"github.com/mayfly-pki/mayfly/ssh"
)

// step-ca's defaults of ssh.addUserPrincipal and ssh.addUserCommand.
const (
	DefaultAddUserPrincipal = "provisioner"
	DefaultAddUserCommand   = "sudo useradd -m <principal>; nc -q0 localhost 22"
)

// IsValidForAddUser reports whether an "add user" certificate may be
// issued beside cert (step-ca's rule): a user certificate with one
// principal, or two when the second is an e-mail address (OIDC adds it).
func IsValidForAddUser(cert *gossh.Certificate) error {
	if cert.CertType != gossh.UserCert {
		return errs.E(errs.Forbidden, "certificate is not a user certificate", nil)
	}
	switch len(cert.ValidPrincipals) {
	case 0:
		return errs.E(errs.Forbidden, "certificate does not have any principals", nil)
	case 1:
		return nil
	case 2:
		if strings.Index(cert.ValidPrincipals[1], "@") > 0 {
			return nil
		}
	}
	return errs.E(errs.Forbidden, "certificate does not have only one principal", nil)
}

// SignSSHAddUser issues step-ca's "add user" certificate for key beside
// subject (wire-spec §3.4 POST /ssh/sign addUserPublicKey): a user
// certificate for ssh.addUserPrincipal (default "provisioner") with the
// validity of subject, key ID "<principal>-<addUserPrincipal>" and the
// critical option force-command = ssh.addUserCommand with <principal>
// replaced by subject's first principal. It is recorded like any other.
func (a *Authority) SignSSHAddUser(ctx context.Context, key gossh.PublicKey, subject *gossh.Certificate) (*gossh.Certificate, error) {
	if !a.SSHEnabled() || a.ssh.user == nil {
		return nil, errs.E(errs.NotImplemented, "signSSHAddUser: user certificate signing is not enabled", nil)
	}
	if err := IsValidForAddUser(subject); err != nil {
		return nil, err
	}
	if err := ssh.CheckKey(key); err != nil {
		return nil, err
	}
	principal := subject.ValidPrincipals[0]
	addUser := a.ssh.cfg.AddUserPrincipal
	if addUser == "" {
		addUser = DefaultAddUserPrincipal
	}
	command := a.ssh.cfg.AddUserCommand
	if command == "" {
		command = DefaultAddUserCommand
	}
	cert, err := ssh.NewCertificate(key, gossh.UserCert, principal+"-"+addUser, []string{addUser},
		ssh.Time(subject.ValidAfter), ssh.Time(subject.ValidBefore))
	if err != nil {
		return nil, errs.E(errs.Internal, "error creating ssh certificate", err)
	}
	// Exactly the subject's validity (NewCertificate works in whole seconds
	// already), no extensions: the certificate only runs the command.
	cert.ValidAfter, cert.ValidBefore = subject.ValidAfter, subject.ValidBefore
	cert.Permissions = gossh.Permissions{CriticalOptions: map[string]string{
		"force-command": strings.ReplaceAll(command, "<principal>", principal),
	}}
	if err := ssh.Sign(cert, a.ssh.user); err != nil {
		return nil, err
	}
	if err := a.storeSSH(ctx, cert); err != nil {
		return nil, err
	}
	a.sshDecided(ctx, meter.OpSSHSign, "", &SSHIssued{Cert: cert}, "", nil)
	return cert, nil
}

// SignSSHIdentity issues the X.509 identity certificate of /ssh/sign's
// identityCSR: the request's token is authorized again for an X.509
// certificate without being recorded (it was by the SSH signature), and the
// certificate gets the SSH certificate's validity and the CSR's urn:uuid
// URI, if any (step-ca's identityModifier).
func (a *Authority) SignSSHIdentity(ctx context.Context, ott string, csr *x509.CertificateRequest, subject *gossh.Certificate) (*Issued, error) {
	var prov string
	iss, err := a.signSSHIdentity(ctx, ott, csr, subject, &prov)
	a.decided(ctx, meter.OpSign, prov, csr, iss, err)
	return iss, err
}

func (a *Authority) signSSHIdentity(ctx context.Context, ott string, csr *x509.CertificateRequest, subject *gossh.Certificate, prov *string) (*Issued, error) {
	if err := checkCSRSignature(csr); err != nil {
		return nil, err
	}
	var plan *provisioner.X509Plan
	p, _, err := a.authorizeTokenReuse(ctx, ott, func(p provisioner.Interface, tok *token.Token) error {
		*prov = p.Info().Name
		var err error
		plan, err = p.AuthorizeSign(ctx, tok)
		return err
	}, false)
	if err != nil {
		return nil, err
	}
	nb, na := ssh.Time(subject.ValidAfter).UTC(), ssh.Time(subject.ValidBefore).UTC()
	uri := identityURI(csr)
	withIdentity := *plan
	withIdentity.Modifiers = append(append([]provisioner.CertModifier(nil), plan.Modifiers...), identityModifier{uri: uri})
	// The provisioner's name checks see the CSR without its identity URI,
	// which the modifier adds (it is the client's, not a requested name).
	checked := csr
	if uri != nil {
		c := *csr
		c.URIs = slices.DeleteFunc(slices.Clone(csr.URIs), func(u *url.URL) bool { return u == uri })
		checked = &c
	}
	req := &SignRequest{CSR: checked, OTT: ott, NotBefore: timeutil.NewTimeDuration(nb), NotAfter: timeutil.NewTimeDuration(na)}
	return a.signPlan(ctx, req, &withIdentity, p.Info())
}

// identityModifier adds the CSR's urn:uuid URI to the identity certificate.
type identityModifier struct{ uri *url.URL }

func (m identityModifier) ModifyCert(cert *x509.Certificate) error {
	if m.uri == nil {
		return nil
	}
	for _, u := range cert.URIs {
		if u.String() == m.uri.String() {
			return nil
		}
	}
	cert.URIs = append(cert.URIs, m.uri)
	return nil
}

// identityURI is the CSR's first urn:uuid: URI, or nil.
func identityURI(csr *x509.CertificateRequest) *url.URL {
	for _, u := range csr.URIs {
		if u.Scheme == "urn" && strings.HasPrefix(u.Opaque, "uuid:") {
			return u
		}
	}
	return nil
}
