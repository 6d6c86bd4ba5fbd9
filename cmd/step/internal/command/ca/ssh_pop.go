package ca

import (
	"crypto"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
	gossh "golang.org/x/crypto/ssh"

	"github.com/mayfly-pki/mayfly/ca/client"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/ui"
	"github.com/mayfly-pki/mayfly/internal/fileutil"
	mjose "github.com/mayfly-pki/mayfly/internal/jose"
	"github.com/mayfly-pki/mayfly/internal/pemutil"
	"github.com/mayfly-pki/mayfly/provisioner/token"
)

// readSSHPrivateKey reads an OpenSSH (or PEM) private key, asking for its
// password (--password-file) when it is encrypted.
func readSSHPrivateKey(c *cli.Context, path string) (crypto.Signer, error) {
	b, err := readSmallFile(path)
	if err != nil {
		return nil, err
	}
	k, err := gossh.ParseRawPrivateKey(b)
	var missing *gossh.PassphraseMissingError
	if errors.As(err, &missing) {
		pass, perr := ui.ReadPassword(ui.PasswordFlag(c, "password-file"), "Please enter the password to decrypt "+path+":")
		if perr != nil {
			return nil, perr
		}
		k, err = gossh.ParseRawPrivateKeyWithPassphrase(b, pass)
	}
	if err != nil {
		// step's own PEM keys.
		if pk, perr := pemutil.ParsePrivateKey(b, nil); perr == nil {
			k, err = pk, nil
		}
	}
	if err != nil {
		return nil, fmt.Errorf("error reading %s: %w", path, err)
	}
	if e, ok := k.(*ed25519.PrivateKey); ok {
		k = *e
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("error reading %s: unsupported key %T", path, k)
	}
	return s, nil
}

// sshpopProvisioner returns the name of the SSHPOP provisioner: --provisioner,
// or the only one the CA lists.
func sshpopProvisioner(c *cli.Context, cl *client.Client) (string, error) {
	ctx, cancel := timeoutCtx(c)
	defer cancel()
	list, err := cl.Provisioners(ctx)
	if err != nil {
		return "", err
	}
	want := c.String("provisioner")
	var names []string
	for _, raw := range list {
		var p struct{ Type, Name string }
		if json.Unmarshal(raw, &p) == nil && strings.EqualFold(p.Type, "SSHPOP") && (want == "" || p.Name == want) {
			names = append(names, p.Name)
		}
	}
	switch {
	case len(names) == 1:
		return names[0], nil
	case len(names) == 0 && want != "":
		return "", fmt.Errorf("provisioner %q not found or not an SSHPOP provisioner", want)
	case len(names) == 0:
		return "", errors.New("the CA has no SSHPOP provisioner")
	}
	return "", errors.New("there is more than one SSHPOP provisioner: use --provisioner to choose one")
}

// maxSSHFileSize bounds the SSH key and certificate files read.
const maxSSHFileSize = 1 << 20

func readSmallFile(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("error reading %s: %w", path, err)
	}
	if fi.Size() > maxSSHFileSize {
		return nil, fmt.Errorf("error reading %s: %d bytes, at most %d", path, fi.Size(), maxSSHFileSize)
	}
	return os.ReadFile(path)
}

// ReadSSHCertificate reads an SSH certificate file (ssh-keygen's -cert.pub).
func ReadSSHCertificate(path string) (*gossh.Certificate, error) {
	b, err := readSmallFile(path)
	if err != nil {
		return nil, err
	}
	k, _, _, _, err := gossh.ParseAuthorizedKey(b)
	if err != nil {
		return nil, fmt.Errorf("error parsing %s: %w", path, err)
	}
	cert, ok := k.(*gossh.Certificate)
	if !ok {
		return nil, fmt.Errorf("%s is not an ssh certificate: it holds a %s key", path, k.Type())
	}
	return cert, nil
}

// SSHPOPToken mints an SSHPOP token (wire-spec §4.5) proving possession of
// the certificate in certFile with the key in keyFile, for path
// ("/1.0/ssh/renew", "/1.0/ssh/rekey" or "/1.0/ssh/revoke").
func SSHPOPToken(c *cli.Context, cl *client.Client, roots []*x509.Certificate, certFile, keyFile, path string) (string, *gossh.Certificate, error) {
	cert, err := ReadSSHCertificate(certFile)
	if err != nil {
		return "", nil, err
	}
	key, err := readSSHPrivateKey(c, keyFile)
	if err != nil {
		return "", nil, err
	}
	pub, err := gossh.NewPublicKey(key.Public())
	if err != nil || string(pub.Marshal()) != string(cert.Key.Marshal()) {
		return "", nil, fmt.Errorf("%s is not the private key of %s", keyFile, certFile)
	}
	name, err := sshpopProvisioner(c, cl)
	if err != nil {
		return "", nil, err
	}
	ui.PrintSelected("Provisioner", name+" (SSHPOP)")
	jwk, err := mjose.NewSigningJWK(key)
	if err != nil {
		return "", nil, err
	}
	jti, err := token.NewID()
	if err != nil {
		return "", nil, err
	}
	now := time.Now()
	claims := &token.Claims{
		Audience: token.Audience{cl.URL().String() + path + "#sshpop/" + name}, Issuer: name,
		Subject: strconv.FormatUint(cert.Serial, 10), ID: jti, SHA: pemutil.Fingerprint(roots[0]),
		IssuedAt: token.NewNumericDate(now), NotBefore: token.NewNumericDate(now), Expiry: token.NewNumericDate(now.Add(token.DefaultValidity)),
	}
	tok, err := token.Sign(jwk, claims, map[string]any{"sshpop": base64.StdEncoding.EncodeToString(cert.Marshal())})
	return tok, cert, err
}

// sshpopTokenAction is `step ca token --sshpop-cert c --sshpop-key k` with
// --renew, --rekey or --revoke: an SSHPOP token (wire-spec §4.5) whose
// subject is the certificate's serial.
func sshpopTokenAction(c *cli.Context) error {
	if c.String("sshpop-cert") == "" || c.String("sshpop-key") == "" {
		return errors.New("flags '--sshpop-cert' and '--sshpop-key' go together")
	}
	var path string
	switch {
	case c.Bool("renew"):
		path = "/1.0/ssh/renew"
	case c.Bool("rekey"):
		path = "/1.0/ssh/rekey"
	case c.Bool("revoke"):
		path = "/1.0/ssh/revoke"
	default:
		return errors.New("an SSHPOP token is for --renew, --rekey or --revoke")
	}
	cl, roots, err := newClient(c)
	if err != nil {
		return err
	}
	tok, cert, err := SSHPOPToken(c, cl, roots, c.String("sshpop-cert"), c.String("sshpop-key"), path)
	if err != nil {
		return err
	}
	if sub := c.Args().First(); sub != strconv.FormatUint(cert.Serial, 10) {
		return fmt.Errorf("the subject %q is not the serial number of %s (%d)", sub, c.String("sshpop-cert"), cert.Serial)
	}
	if out := c.String("output-file"); out != "" {
		return fileutil.WriteFile(out, []byte(tok+"\n"), 0o600)
	}
	_, err = fmt.Fprintln(os.Stdout, tok)
	return err
}
