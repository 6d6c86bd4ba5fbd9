package ssh

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"time"

	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/mayfly-pki/mayfly/ca/client"
)

// dialAgent connects to $SSH_AUTH_SOCK.
func dialAgent() (agent.ExtendedAgent, func(), error) {
	sock := os.Getenv("SSH_AUTH_SOCK")
	if sock == "" {
		return nil, nil, fmt.Errorf("ssh-agent is not running: SSH_AUTH_SOCK is not set")
	}
	conn, err := net.DialTimeout("unix", sock, 5*time.Second)
	if err != nil {
		return nil, nil, fmt.Errorf("error connecting with ssh-agent: %w", err)
	}
	return agent.NewClient(conn), func() { conn.Close() }, nil
}

// userCAKeys returns the CA's user keys (wire format).
func userCAKeys(cl *client.Client) ([][]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	r, err := cl.SSHRoots(ctx)
	if err != nil {
		return nil, err
	}
	var out [][]byte
	for _, k := range r.UserKeys {
		b, err := base64.StdEncoding.DecodeString(k)
		if err != nil {
			return nil, fmt.Errorf("error decoding a key of the CA: %w", err)
		}
		out = append(out, b)
	}
	return out, nil
}

// agentCerts returns the agent's certificates signed by one of the CA's
// user keys (GET /ssh/roots), valid now.
func agentCerts(a agent.Agent, cl *client.Client) ([]*gossh.Certificate, error) {
	caKeys, err := userCAKeys(cl)
	if err != nil {
		return nil, err
	}
	keys, err := a.List()
	if err != nil {
		return nil, fmt.Errorf("error listing the ssh-agent keys: %w", err)
	}
	now := uint64(time.Now().Unix())
	var certs []*gossh.Certificate
	for _, k := range keys {
		pk, err := gossh.ParsePublicKey(k.Blob)
		if err != nil {
			continue
		}
		c, ok := pk.(*gossh.Certificate)
		if !ok || now < c.ValidAfter || now >= c.ValidBefore {
			continue
		}
		for _, ca := range caKeys {
			if bytes.Equal(c.SignatureKey.Marshal(), ca) {
				certs = append(certs, c)
				break
			}
		}
	}
	return certs, nil
}

// agentUser is the first principal of the first agent certificate of the
// CA, as `step ssh config` sends in User.
func agentUser(cl *client.Client) (string, error) {
	a, closeFn, err := dialAgent()
	if err != nil {
		return "", fmt.Errorf("ssh certificate not found: please run step ssh login <identity> (%v)", err)
	}
	defer closeFn()
	certs, err := agentCerts(a, cl)
	if err != nil {
		return "", err
	}
	for _, c := range certs {
		if c.CertType == gossh.UserCert && len(c.ValidPrincipals) > 0 {
			return c.ValidPrincipals[0], nil
		}
	}
	return "", fmt.Errorf("ssh certificate not found: please run step ssh login <identity>")
}
