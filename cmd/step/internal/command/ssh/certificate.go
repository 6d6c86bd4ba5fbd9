package ssh

import (
	"crypto"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/urfave/cli/v2"
	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/mayfly-pki/mayfly/cmd/step/internal/app"
	caCmd "github.com/mayfly-pki/mayfly/cmd/step/internal/command/ca"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/flags"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/ui"
	"github.com/mayfly-pki/mayfly/internal/keyutil"
)

func certificateCommand() *cli.Command {
	fs := []cli.Flag{
		flags.CaURL(), flags.Root(), flags.Context(), flags.Force(), flags.Token(),
		&cli.BoolFlag{Name: "host", Usage: "Create a host certificate instead of a user certificate."},
		&cli.StringFlag{Name: "host-id", Usage: "Accepted for compatibility: the host `uuid` of step's hosted CA (ignored)."},
		&cli.StringSliceFlag{Name: "principal", Aliases: []string{"n"}, Usage: "Add the principal (user or host `name`s) to the certificate; repeat for several."},
		flags.NotBefore("certificate"), flags.NotAfter("certificate"),
		&cli.BoolFlag{Name: "sign", Usage: "Sign the public key in <key-file> instead of generating a new key."},
		&cli.StringFlag{Name: "private-key", Usage: "The `file` of an existing private key to use with --sign (accepted, not needed)."},
		flags.PasswordFile("The path to the `file` containing the password to encrypt the new private key."),
		flags.NoPassword(), flags.Insecure(),
		&cli.StringFlag{Name: "comment", Usage: "The `comment` of the new key and certificate (default: the key ID)."},
		&cli.BoolFlag{Name: "add-user", Usage: "Also create a user provisioner certificate (<key-file>-provisioner), used to create the user on the host."},
		&cli.BoolFlag{Name: "no-agent", Usage: "Do not add the key and certificate to the ssh-agent."},
		flags.Set(), flags.SetFile(),
		flags.Offline(),
	}
	fs = append(fs, flags.KeyFlags()...)
	fs = append(fs, caCmd.TokenFlags()...)
	return &cli.Command{
		Name:      "certificate",
		Usage:     "sign a SSH certificate using the SSH CA",
		UsageText: "step ssh certificate <key-id> <key-file> [--host] [--principal <name>] [--sign] [--no-agent] [--provisioner <name>] [--token <token>] [--not-before <time|duration>] [--not-after <time|duration>] [--no-password --insecure]",
		ArgsUsage: "<key-id> <key-file>",
		Flags:     fs,
		Action:    certificateAction,
	}
}

func certificateAction(c *cli.Context) error {
	if err := app.CheckArgs(c, 2, 2); err != nil {
		return err
	}
	sub, keyFile := c.Args().Get(0), c.Args().Get(1)
	if c.Bool("offline") {
		return fmt.Errorf("--offline is not supported yet")
	}
	if err := flags.CheckNoPassword(c); err != nil {
		return err
	}
	// Template data (.Insecure.User of the provisioner's SSH template),
	// checked before any password prompt.
	var data json.RawMessage
	if m, ok, err := flags.TemplateData(c); err != nil {
		return err
	} else if ok {
		if data, err = json.Marshal(m); err != nil {
			return fmt.Errorf("error encoding the template data: %w", err)
		}
	}
	host := c.Bool("host")
	addUser := c.Bool("add-user")
	if addUser && host {
		return fmt.Errorf("flag '--add-user' is incompatible with '--host'")
	}
	principals := c.StringSlice("principal")
	if len(principals) == 0 {
		principals = []string{sub}
		if !host {
			principals = principalsFor(sub)
		}
	}
	va, vb, err := validityFlags(c)
	if err != nil {
		return err
	}

	// The key: a new one, or the public key of --sign.
	var pub gossh.PublicKey
	var priv crypto.Signer
	pubFile, crtFile := keyFile+".pub", certPath(keyFile)
	if c.Bool("sign") {
		if pub, _, err = readPublicKey(keyFile); err != nil {
			return err
		}
		if _, ok := pub.(*gossh.Certificate); ok {
			return fmt.Errorf("%s holds a certificate: --sign needs a public key", keyFile)
		}
	} else {
		for _, f := range []string{keyFile, pubFile, crtFile} {
			if err := ui.CheckOverwrite(f, c.Bool("force")); err != nil {
				return err
			}
		}
		kty, crv, size, err := flags.KeyParams(c)
		if err != nil {
			return err
		}
		if priv, err = keyutil.Generate(kty, crv, size); err != nil {
			return err
		}
		if pub, err = gossh.NewPublicKey(priv.Public()); err != nil {
			return err
		}
	}
	if c.Bool("sign") {
		if err := ui.CheckOverwrite(crtFile, c.Bool("force")); err != nil {
			return err
		}
	}

	// The "add user" key: step's default key type, never encrypted (step
	// does the same), written only if the CA answers a certificate for it.
	var auPriv crypto.Signer
	var auPub gossh.PublicKey
	auFile := keyFile + "-provisioner"
	if addUser {
		for _, f := range []string{auFile, auFile + ".pub", auFile + "-cert.pub"} {
			if err := ui.CheckOverwrite(f, c.Bool("force")); err != nil {
				return err
			}
		}
		if auPriv, err = keyutil.Generate("EC", "P-256", 0); err != nil {
			return err
		}
		if auPub, err = gossh.NewPublicKey(auPriv.Public()); err != nil {
			return err
		}
	}

	cl, roots, err := caCmd.NewClient(c)
	if err != nil {
		return err
	}
	cert, resp, err := signSSH(c, cl, roots, signRequest{pub: pub, sub: sub, host: host, principals: principals, va: va, vb: vb, templateData: data, addUser: auPub})
	if err != nil {
		return err
	}
	comment := c.String("comment")
	if comment == "" {
		comment = sub
	}
	ui.PrintSelected("CA", cl.URL().String())
	if priv != nil {
		pass, err := newKeyPassword(c)
		if err != nil {
			return err
		}
		block, err := marshalPrivateKey(priv, comment, pass)
		if err != nil {
			return err
		}
		if err := ui.WriteFile(keyFile, pem.EncodeToMemory(block), 0o600, true); err != nil {
			return err
		}
		if err := ui.WriteFile(pubFile, authorizedLine(pub, comment), 0o644, true); err != nil {
			return err
		}
		ui.PrintSelected("Private Key", keyFile)
		ui.PrintSelected("Public Key", pubFile)
	}
	if err := ui.WriteFile(crtFile, authorizedLine(cert, comment), 0o644, true); err != nil {
		return err
	}
	ui.PrintSelected("Certificate", crtFile)
	if auPriv != nil && resp.AddUserCertificate != "" {
		if err := writeAddUser(auFile, auPriv, auPub, resp.AddUserCertificate, sub); err != nil {
			return err
		}
	}
	if priv != nil && !c.Bool("no-agent") {
		if added := addToAgent(priv, cert, comment); added {
			ui.PrintSelected("SSH Agent", "yes")
		}
	}
	return nil
}

// writeAddUser writes the "add user" key, public key and certificate as
// step does: <key-file>-provisioner (0600, OpenSSH, unencrypted), .pub and
// -cert.pub, with the comment "<user>-provisioner".
func writeAddUser(file string, priv crypto.Signer, pub gossh.PublicKey, b64Cert, sub string) error {
	cert, err := decodeCert(b64Cert)
	if err != nil {
		return err
	}
	user := principalsFor(sub)[0]
	comment := user + "-provisioner"
	block, err := marshalPrivateKey(priv, comment, nil)
	if err != nil {
		return err
	}
	if err := ui.WriteFile(file, pem.EncodeToMemory(block), 0o600, true); err != nil {
		return err
	}
	if err := ui.WriteFile(file+".pub", authorizedLine(pub, comment), 0o644, true); err != nil {
		return err
	}
	if err := ui.WriteFile(file+"-cert.pub", authorizedLine(cert, comment), 0o644, true); err != nil {
		return err
	}
	ui.PrintSelected("Add User Private Key", file)
	ui.PrintSelected("Add User Public Key", file+".pub")
	ui.PrintSelected("Add User Certificate", file+"-cert.pub")
	return nil
}

// newKeyPassword returns the password of the new private key: none with
// --no-password --insecure, --password-file, or asked on the terminal.
func newKeyPassword(c *cli.Context) ([]byte, error) {
	if c.Bool("no-password") {
		return nil, nil
	}
	return ui.ReadPassword(ui.PasswordFlag(c, "password-file"), "Please enter the password to encrypt the private key:")
}

// marshalPrivateKey is the OpenSSH private key format, encrypted when pass
// is set.
func marshalPrivateKey(k crypto.Signer, comment string, pass []byte) (*pem.Block, error) {
	if len(pass) == 0 {
		return gossh.MarshalPrivateKey(k, comment)
	}
	return gossh.MarshalPrivateKeyWithPassphrase(k, comment, pass)
}

// addToAgent adds the key with its certificate to the agent at
// $SSH_AUTH_SOCK, until the certificate expires; it reports whether it did.
func addToAgent(k crypto.Signer, cert *gossh.Certificate, comment string) bool {
	sock := os.Getenv("SSH_AUTH_SOCK")
	if sock == "" {
		return false
	}
	conn, err := net.DialTimeout("unix", sock, 5*time.Second)
	if err != nil {
		fmt.Fprintf(os.Stderr, "warning: cannot reach the ssh-agent: %v\n", err)
		return false
	}
	defer conn.Close()
	if err := agent.NewClient(conn).Add(agentKey(k, cert, comment)); err != nil {
		fmt.Fprintf(os.Stderr, "warning: cannot add the certificate to the ssh-agent: %v\n", err)
		return false
	}
	return true
}
