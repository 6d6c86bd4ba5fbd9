package ssh

import (
	"crypto"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"
	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/mayfly-pki/mayfly/api/wire"
	"github.com/mayfly-pki/mayfly/ca/client"
	caCmd "github.com/mayfly-pki/mayfly/cmd/step/internal/command/ca"
	"github.com/mayfly-pki/mayfly/internal/timeutil"
	"github.com/mayfly-pki/mayfly/ssh"
)

// validityFlags parses --not-before and --not-after (both may be empty).
func validityFlags(c *cli.Context) (timeutil.TimeDuration, timeutil.TimeDuration, error) {
	va, err := timeutil.Parse(c.String("not-before"))
	if err != nil {
		return va, va, fmt.Errorf("invalid value for flag '--not-before': %w", err)
	}
	vb, err := timeutil.Parse(c.String("not-after"))
	if err != nil {
		return va, vb, fmt.Errorf("invalid value for flag '--not-after': %w", err)
	}
	return va, vb, nil
}

// signRequest is what `step ssh certificate` and `step ssh login` ask the
// CA to certify.
type signRequest struct {
	pub        gossh.PublicKey
	sub        string // the key ID, and the token's subject
	host       bool
	principals []string
	va, vb     timeutil.TimeDuration
	// templateData is --set/--set-file's data; addUser, when set, asks for
	// the add-user certificate of that key (addUserPublicKey).
	templateData json.RawMessage
	addUser      gossh.PublicKey
}

// signSSH has the CA sign r.pub on /1.0/ssh/sign, with --token or a token
// minted for r, and returns the certificate and the whole answer (with
// the add-user certificate, when asked for).
func signSSH(c *cli.Context, cl *client.Client, roots []*x509.Certificate, r signRequest) (*gossh.Certificate, *wire.SSHSignResponse, error) {
	tok := c.String("token")
	if tok == "" {
		o, err := caCmd.SSHTokenOptions(c, r.sub, r.host, r.principals)
		if err != nil {
			return nil, nil, err
		}
		o.ValidAfter, o.ValidBefore = r.va.String(), r.vb.String()
		if tok, err = caCmd.MintSSHToken(c, cl, roots, caCmd.SSHToken{Subject: r.sub, Path: "/1.0/ssh/sign", SSH: o}); err != nil {
			return nil, nil, err
		}
	}
	certType := ssh.UserCert
	if r.host {
		certType = ssh.HostCert
	}
	ctx, cancel := timeoutCtx(c)
	defer cancel()
	req := &wire.SSHSignRequest{
		PublicKey: r.pub.Marshal(), OTT: tok, CertType: certType, KeyID: r.sub, Principals: r.principals,
		ValidAfter: r.va, ValidBefore: r.vb, TemplateData: r.templateData,
	}
	if r.addUser != nil {
		req.AddUserPublicKey = r.addUser.Marshal()
	}
	resp, err := cl.SSHSign(ctx, req)
	if err != nil {
		return nil, nil, err
	}
	cert, err := decodeCert(resp.Certificate)
	return cert, resp, err
}

// agentKey is k with its certificate for the ssh-agent, kept there until
// the certificate expires.
func agentKey(k crypto.Signer, cert *gossh.Certificate, comment string) agent.AddedKey {
	added := agent.AddedKey{PrivateKey: k, Certificate: cert, Comment: comment}
	if life := time.Until(ssh.Time(cert.ValidBefore)); life > 0 && life < 1<<31*time.Second {
		added.LifetimeSecs = uint32(life / time.Second)
	}
	return added
}
