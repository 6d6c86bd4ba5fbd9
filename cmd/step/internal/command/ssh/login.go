package ssh

import (
	"bytes"
	"crypto"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"
	gossh "golang.org/x/crypto/ssh"

	"github.com/mayfly-pki/mayfly/cmd/step/internal/app"
	caCmd "github.com/mayfly-pki/mayfly/cmd/step/internal/command/ca"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/flags"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/ui"
	"github.com/mayfly-pki/mayfly/internal/keyutil"
)

func loginCommand() *cli.Command {
	fs := []cli.Flag{
		flags.CaURL(), flags.Root(), flags.Context(), flags.Token(), flags.Offline(),
		&cli.StringSliceFlag{Name: "principal", Aliases: []string{"n"}, Usage: "Add the principal (user `name`) to the certificate; repeat for several."},
		flags.NotBefore("certificate"), flags.NotAfter("certificate"),
		&cli.StringFlag{Name: "comment", Usage: "The `comment` of the key in the agent (default: the identity)."},
		&cli.BoolFlag{Name: "add-user", Usage: "Also add a user provisioner certificate to the agent, used to create the user on the host."},
		&cli.StringFlag{Name: "identity", Usage: "The `identity` (email) to log in with, instead of the argument."},
		&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "Log in even when the agent already holds a valid certificate of the CA."},
	}
	fs = append(fs, flags.KeyFlags()...)
	fs = append(fs, caCmd.TokenFlags()...)
	return &cli.Command{
		Name:      "login",
		Usage:     "adds a SSH certificate into the authentication agent",
		UsageText: "step ssh login [<identity>] [--principal <name>] [--provisioner <name>] [--token <token>] [--not-after <time|duration>]",
		ArgsUsage: "[<identity>]",
		Flags:     fs,
		Action:    loginAction,
	}
}

// loginAction creates a key in memory, has the CA certify it as a user
// certificate of identity, and adds both to the ssh-agent (no file is
// written).
func loginAction(c *cli.Context) error {
	if err := app.CheckArgs(c, 0, 1); err != nil {
		return err
	}
	sub := c.Args().First()
	if sub == "" {
		sub = c.String("identity")
	}
	if sub == "" {
		return fmt.Errorf("an identity is required: step ssh login <identity>")
	}
	a, closeAgent, err := dialAgent()
	if err != nil {
		return err
	}
	defer closeAgent()
	cl, roots, err := caCmd.NewClient(c)
	if err != nil {
		return err
	}
	principals := c.StringSlice("principal")
	if len(principals) == 0 {
		principals = principalsFor(sub)
	}
	if !c.Bool("force") {
		certs, err := agentCerts(a, cl)
		if err != nil {
			return err
		}
		for _, cert := range certs {
			if cert.KeyId == sub {
				fmt.Fprintf(os.Stderr, "The agent already holds a valid certificate of %s (serial %d).\n", sub, cert.Serial)
				return nil
			}
		}
	}
	va, vb, err := validityFlags(c)
	if err != nil {
		return err
	}
	kty, crv, size, err := flags.KeyParams(c)
	if err != nil {
		return err
	}
	priv, err := keyutil.Generate(kty, crv, size)
	if err != nil {
		return err
	}
	pub, err := gossh.NewPublicKey(priv.Public())
	if err != nil {
		return err
	}
	var auPriv crypto.Signer
	var auPub gossh.PublicKey
	if c.Bool("add-user") {
		if auPriv, err = keyutil.Generate("EC", "P-256", 0); err != nil {
			return err
		}
		if auPub, err = gossh.NewPublicKey(auPriv.Public()); err != nil {
			return err
		}
	}
	cert, resp, err := signSSH(c, cl, roots, signRequest{pub: pub, sub: sub, principals: principals, va: va, vb: vb, addUser: auPub})
	if err != nil {
		return err
	}
	comment := c.String("comment")
	if comment == "" {
		comment = sub
	}
	if err := a.Add(agentKey(priv, cert, comment)); err != nil {
		return fmt.Errorf("error adding the certificate to the ssh-agent: %w", err)
	}
	ui.PrintSelected("SSH Agent", "yes")
	if auPriv != nil {
		// As step: the add-user certificate goes to the agent too, or a
		// line says why not; the login itself succeeded.
		if resp.AddUserCertificate == "" {
			fmt.Fprintln(os.Stderr, "✗ Add User Certificate: failed to create a provisioner certificate")
			return nil
		}
		au, err := decodeCert(resp.AddUserCertificate)
		if err == nil {
			err = a.Add(agentKey(auPriv, au, comment))
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "✗ Add User Certificate: %v\n", err)
			return nil
		}
		ui.PrintSelected("Add User Certificate", "yes")
	}
	return nil
}

func logoutCommand() *cli.Command {
	return &cli.Command{
		Name:      "logout",
		Usage:     "removes a private key from the ssh-agent",
		UsageText: "step ssh logout [<identity>] [--all]",
		ArgsUsage: "[<identity>]",
		Flags: []cli.Flag{
			flags.CaURL(), flags.Root(), flags.Context(), flags.Offline(),
			&cli.BoolFlag{Name: "all", Usage: "Remove every certificate of the CA from the agent."},
		},
		Action: func(c *cli.Context) error {
			if err := app.CheckArgs(c, 0, 1); err != nil {
				return err
			}
			id := c.Args().First()
			if id == "" && !c.Bool("all") {
				return fmt.Errorf("an identity or --all is required")
			}
			a, closeAgent, err := dialAgent()
			if err != nil {
				return err
			}
			defer closeAgent()
			cl, _, err := caCmd.NewClient(c)
			if err != nil {
				return err
			}
			certs, err := agentCerts(a, cl)
			if err != nil {
				return err
			}
			n := 0
			for _, cert := range certs {
				if c.Bool("all") || cert.KeyId == id {
					if err := a.Remove(cert); err != nil {
						return fmt.Errorf("error removing the certificate from the ssh-agent: %w", err)
					}
					n++
				}
			}
			if n == 0 {
				return fmt.Errorf("the ssh-agent holds no certificate of %q from this CA", id)
			}
			ui.PrintSelected("SSH Agent", fmt.Sprintf("%d certificate(s) removed", n))
			return nil
		},
	}
}

func listCommand() *cli.Command {
	return &cli.Command{
		Name:      "list",
		Usage:     "list public keys known to the ssh agent",
		UsageText: "step ssh list [--raw]",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "raw", Usage: "Print the keys as authorized_keys lines."},
		},
		Action: func(c *cli.Context) error {
			if err := app.CheckArgs(c, 0, 0); err != nil {
				return err
			}
			a, closeAgent, err := dialAgent()
			if err != nil {
				return err
			}
			defer closeAgent()
			keys, err := a.List()
			if err != nil {
				return fmt.Errorf("error listing the ssh-agent keys: %w", err)
			}
			if len(keys) == 0 {
				fmt.Fprintln(os.Stderr, "The agent has no identities.")
				return nil
			}
			var out bytes.Buffer
			for _, k := range keys {
				pk, err := gossh.ParsePublicKey(k.Blob)
				if err != nil {
					continue
				}
				if c.Bool("raw") {
					out.Write(authorizedLine(pk, k.Comment))
					continue
				}
				inner, suffix := pk, ""
				if cert, ok := pk.(*gossh.Certificate); ok {
					inner, suffix = cert.Key, "-CERT"
				}
				fmt.Fprintf(&out, "%d %s %s (%s%s)\n", keyBits(inner), gossh.FingerprintSHA256(inner), k.Comment, keyName(inner), suffix)
			}
			_, err = os.Stdout.Write(out.Bytes())
			return err
		},
	}
}
