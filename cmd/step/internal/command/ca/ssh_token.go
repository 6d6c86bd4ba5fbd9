package ca

import (
	"crypto/x509"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/mayfly-pki/mayfly/ca/client"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/flags"
	"github.com/mayfly-pki/mayfly/internal/pemutil"
	"github.com/mayfly-pki/mayfly/internal/timeutil"
	"github.com/mayfly-pki/mayfly/provisioner/token"
)

// sshTokenOptions is the step.ssh claim step writes (wire-spec §4.3):
// the certificate type, the subject as key ID, the principals and the
// --cert-not-before/--cert-not-after bounds ("" when unset).
func sshTokenOptions(c *cli.Context, sub string, host bool, principals []string, now time.Time) (*token.SSHOptions, error) {
	o := &token.SSHOptions{CertType: "user", KeyID: sub, Principals: principals}
	if host {
		o.CertType = "host"
	}
	if len(o.Principals) == 0 {
		o.Principals = []string{sub}
	}
	var err error
	if o.ValidAfter, err = certBound(c, "cert-not-before"); err != nil {
		return nil, err
	}
	if o.ValidBefore, err = certBound(c, "cert-not-after"); err != nil {
		return nil, err
	}
	return o, nil
}

// certBound returns a validity flag in its wire form: "" unset, a Go
// duration ("48h0m0s") or an RFC 3339 time.
func certBound(c *cli.Context, name string) (string, error) {
	if !c.IsSet(name) || c.String(name) == "" {
		return "", nil
	}
	td, err := timeutil.Parse(c.String(name))
	if err != nil {
		return "", fmt.Errorf("invalid value %q for flag '--%s': %w", c.String(name), name, err)
	}
	return td.String(), nil
}

// SSHToken is a token request of the `step ssh` commands.
type SSHToken struct {
	Subject string
	// Path is the audience path: "/1.0/ssh/sign" or "/1.0/ssh/revoke".
	Path string
	SSH  *token.SSHOptions // step.ssh for a sign token
}

// NewClient returns the CA client of --ca-url trusting --root, and the
// roots (for `step ssh` commands).
func NewClient(c *cli.Context) (*client.Client, []*x509.Certificate, error) {
	return newClient(c)
}

// MintSSHToken mints a token for an SSH request with the provisioner
// chosen by the flags (--provisioner, --provisioner-password-file, the
// x5c/nebula/k8ssa/OIDC ones), as `step ca token --ssh` does.
func MintSSHToken(c *cli.Context, cl *client.Client, roots []*x509.Certificate, t SSHToken) (string, error) {
	req := tokenRequest{subject: t.Subject, path: t.Path, ssh: t.SSH}
	return mintToken(c, cl, pemutil.Fingerprint(roots[0]), req, false)
}

// SSHTokenOptions is sshTokenOptions for `step ssh certificate`.
func SSHTokenOptions(c *cli.Context, sub string, host bool, principals []string) (*token.SSHOptions, error) {
	return sshTokenOptions(c, sub, host, principals, time.Now())
}

// TokenFlags are the flags that choose and unlock a provisioner, shared
// by the `step ssh` commands.
func TokenFlags() []cli.Flag {
	return append([]cli.Flag{
		&cli.StringFlag{Name: "provisioner", Aliases: []string{"issuer"}, Usage: "The provisioner `name` to use."},
		&cli.StringFlag{Name: "kid", Usage: "The provisioner `kid` to use."},
		flags.ProvisionerPasswordFile(),
		&cli.StringFlag{Name: "key", Hidden: true, Usage: "private key `file` signing the token"},
	}, append(append(x5cFlags(), nebulaFlags()...), append(k8ssaFlags(), oidcFlags()...)...)...)
}
