// Package sshpop is the SSHPOP provisioner: tokens signed with the key of
// an SSH certificate the CA issued, which travels in the token's "sshpop"
// header (wire-spec §4.5). They renew and rekey host certificates and
// revoke any SSH certificate of the CA.
package sshpop

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/provisioner"
	"github.com/mayfly-pki/mayfly/provisioner/token"
	"github.com/mayfly-pki/mayfly/ssh"
)

// Provisioner is a configured SSHPOP provisioner.
type Provisioner struct {
	info       provisioner.Info
	claims     provisioner.Resolved
	raw        json.RawMessage
	audiences  provisioner.Audiences
	now        func() time.Time
	user, host [][]byte // the CA keys, wire format
}

var (
	_ provisioner.Interface  = (*Provisioner)(nil)
	_ provisioner.SSHRenewer = (*Provisioner)(nil)
	_ provisioner.SSHRevoker = (*Provisioner)(nil)
)

// New builds an SSHPOP provisioner from its ca.json entry.
func New(raw json.RawMessage, cfg provisioner.Config) (provisioner.Interface, error) {
	var c provisioner.Base
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("invalid SSHPOP provisioner: %w", err)
	}
	if c.Name == "" {
		return nil, fmt.Errorf("provisioner name cannot be empty")
	}
	claims := c.Claims.Merge(cfg.Claims)
	if err := claims.Validate(); err != nil {
		return nil, fmt.Errorf("SSHPOP provisioner %q: claims: %w", c.Name, err)
	}
	compact := new(bytes.Buffer)
	if err := json.Compact(compact, raw); err != nil {
		return nil, err
	}
	p := &Provisioner{
		info:   provisioner.Info{ID: "sshpop/" + c.Name, Name: c.Name, Type: provisioner.TypeSSHPOP},
		claims: claims, raw: compact.Bytes(), audiences: cfg.Audiences, now: cfg.Clock(),
	}
	for _, k := range cfg.SSHUserKeys {
		p.user = append(p.user, k.Marshal())
	}
	for _, k := range cfg.SSHHostKeys {
		p.host = append(p.host, k.Marshal())
	}
	return p, nil
}

// Info implements provisioner.Interface.
func (p *Provisioner) Info() provisioner.Info { return p.info }

// TokenID implements provisioner.Interface: "sshpop/<name>".
func (p *Provisioner) TokenID() string { return p.info.ID }

// Claims implements provisioner.Interface.
func (p *Provisioner) Claims() provisioner.Resolved { return p.claims }

// EncryptedKey implements provisioner.Interface: none.
func (p *Provisioner) EncryptedKey() (string, string, bool) { return "", "", false }

// JSON implements provisioner.Interface.
func (p *Provisioner) JSON() json.RawMessage { return p.raw }

// AuthorizeSign implements provisioner.Interface: SSHPOP issues no X.509
// certificates.
func (p *Provisioner) AuthorizeSign(context.Context, *token.Token) (*provisioner.X509Plan, error) {
	return nil, errs.Errorf(errs.Unauthorized, "sshpop.AuthorizeSign; sshpop provisioner '%s' does not sign x509 certificates", p.info.Name)
}

// AuthorizeRevoke implements provisioner.Interface: not for X.509.
func (p *Provisioner) AuthorizeRevoke(context.Context, *token.Token) error {
	return errs.Errorf(errs.Unauthorized, "sshpop.AuthorizeRevoke; sshpop provisioner '%s' does not revoke x509 certificates", p.info.Name)
}

// AuthorizeRenew implements provisioner.Interface: not for X.509.
func (p *Provisioner) AuthorizeRenew(context.Context, *x509.Certificate) error {
	return errs.Errorf(errs.Unauthorized, "sshpop.AuthorizeRenew; sshpop provisioner '%s' does not renew x509 certificates", p.info.Name)
}

// authorize verifies an SSHPOP token for purpose and returns its
// certificate: issued by one of the CA's SSH keys, valid now, the JWS
// signed by its key, iss the provisioner's name, aud the purpose's with
// the fragment "sshpop/<name>", sub its serial.
func (p *Provisioner) authorize(tok *token.Token, purpose provisioner.Purpose) (*gossh.Certificate, error) {
	if err := provisioner.CheckSSHEnabled(p.claims, p.info.Name); err != nil {
		return nil, err
	}
	b64 := tok.HeaderString("sshpop")
	if b64 == "" {
		return nil, errs.Errorf(errs.Unauthorized, "sshpop.authorizeToken; token has no sshpop header")
	}
	if len(b64) > 2*ssh.MaxKeySize {
		return nil, errs.Errorf(errs.Unauthorized, "sshpop.authorizeToken; sshpop header is too long")
	}
	der, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, errs.E(errs.Unauthorized, "sshpop.authorizeToken; error decoding sshpop header", err)
	}
	cert, err := ssh.ParseCertificate(der)
	if err != nil {
		return nil, errs.E(errs.Unauthorized, "sshpop.authorizeToken; error parsing sshpop certificate", err)
	}
	authorities := p.user
	if cert.CertType == gossh.HostCert {
		authorities = p.host
	}
	checker := gossh.CertChecker{
		Clock:           p.now,
		IsUserAuthority: func(k gossh.PublicKey) bool { return contains(authorities, k) },
		IsHostAuthority: func(k gossh.PublicKey, _ string) bool { return contains(authorities, k) },
	}
	principal := ""
	if len(cert.ValidPrincipals) > 0 {
		principal = cert.ValidPrincipals[0]
	}
	if !contains(authorities, cert.SignatureKey) {
		return nil, errs.Errorf(errs.Unauthorized, "sshpop.authorizeToken; sshpop certificate was not issued by this CA's %s key", ssh.CertTypeName(cert.CertType))
	}
	if err := checker.CheckCert(principal, cert); err != nil {
		return nil, errs.E(errs.Unauthorized, "sshpop.authorizeToken; invalid sshpop certificate", err)
	}
	cp, ok := cert.Key.(gossh.CryptoPublicKey)
	if !ok {
		return nil, errs.Errorf(errs.Unauthorized, "sshpop.authorizeToken; unsupported sshpop certificate key %s", cert.Key.Type())
	}
	if err := tok.Verify(cp.CryptoPublicKey()); err != nil {
		return nil, errs.E(errs.Unauthorized, "sshpop.authorizeToken; error verifying sshpop token", err)
	}
	c := &tok.Claims
	if c.Issuer != p.info.Name {
		return nil, errs.Errorf(errs.Unauthorized, "sshpop.authorizeToken; invalid sshpop token issuer %q", c.Issuer)
	}
	if !p.audiences.Match(purpose, c.Audience, p.info.ID) {
		return nil, errs.Errorf(errs.Unauthorized, "sshpop.authorizeToken; invalid sshpop token audience %v", []string(c.Audience))
	}
	if err := c.ValidateTime(p.now()); err != nil {
		return nil, errs.E(errs.Unauthorized, "sshpop.authorizeToken; invalid sshpop token claims", err)
	}
	if c.Subject != strconv.FormatUint(cert.Serial, 10) {
		return nil, errs.Errorf(errs.Unauthorized, "sshpop.authorizeToken; sshpop token subject must be equivalent to sshpop certificate serial number")
	}
	return cert, nil
}

func contains(keys [][]byte, k gossh.PublicKey) bool {
	b := k.Marshal()
	for _, x := range keys {
		if bytes.Equal(x, b) {
			return true
		}
	}
	return false
}

// AuthorizeSSHRenew implements provisioner.SSHRenewer: host certificates only.
func (p *Provisioner) AuthorizeSSHRenew(_ context.Context, tok *token.Token) (*gossh.Certificate, error) {
	return p.authorizeHost(tok, provisioner.PurposeSSHRenew)
}

// AuthorizeSSHRekey implements provisioner.SSHRenewer: host certificates only.
func (p *Provisioner) AuthorizeSSHRekey(_ context.Context, tok *token.Token) (*gossh.Certificate, error) {
	return p.authorizeHost(tok, provisioner.PurposeSSHRekey)
}

func (p *Provisioner) authorizeHost(tok *token.Token, purpose provisioner.Purpose) (*gossh.Certificate, error) {
	cert, err := p.authorize(tok, purpose)
	if err != nil {
		return nil, err
	}
	if cert.CertType != gossh.HostCert {
		return nil, errs.Errorf(errs.BadRequest, "sshpop certificate must be a host ssh certificate")
	}
	return cert, nil
}

// AuthorizeSSHRevoke implements provisioner.SSHRevoker: any certificate of
// the CA revokes itself (sub is its serial; the caller checks the request's).
func (p *Provisioner) AuthorizeSSHRevoke(_ context.Context, tok *token.Token) error {
	_, err := p.authorize(tok, provisioner.PurposeSSHRevoke)
	return err
}
