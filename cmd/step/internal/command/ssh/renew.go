package ssh

import (
	"crypto"
	"encoding/pem"
	"fmt"

	"github.com/urfave/cli/v2"
	gossh "golang.org/x/crypto/ssh"

	"github.com/mayfly-pki/mayfly/api/wire"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/app"
	caCmd "github.com/mayfly-pki/mayfly/cmd/step/internal/command/ca"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/flags"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/ui"
	"github.com/mayfly-pki/mayfly/internal/keyutil"
)

func renewFlags() []cli.Flag {
	return []cli.Flag{
		flags.CaURL(), flags.Root(), flags.Context(), flags.Force(), flags.Offline(),
		&cli.StringFlag{Name: "out", Aliases: []string{"output-file"}, Usage: "The new certificate `file` (default: overwrite <crt-file>)."},
		&cli.StringFlag{Name: "provisioner", Aliases: []string{"issuer"}, Usage: "The SSHPOP provisioner `name` to use."},
		&cli.StringFlag{Name: "sshpop-cert", Usage: "The certificate `file` proving possession (default: <crt-file>)."},
		&cli.StringFlag{Name: "sshpop-key", Usage: "The key `file` of --sshpop-cert (default: <key-file>)."},
		flags.PasswordFile("The path to the `file` with the password of the key (and of a new key with rekey)."),
	}
}

func renewCommand() *cli.Command {
	return &cli.Command{
		Name:      "renew",
		Usage:     "renew a SSH certificate using the SSH CA",
		UsageText: "step ssh renew <crt-file> <key-file> [--out <file>] [--provisioner <name>] [--force]",
		ArgsUsage: "<crt-file> <key-file>",
		Flags:     renewFlags(),
		Action:    func(c *cli.Context) error { return renewAction(c, false) },
	}
}

func rekeyCommand() *cli.Command {
	fs := append(renewFlags(), flags.NoPassword(), flags.Insecure())
	fs = append(fs, flags.KeyFlags()...)
	return &cli.Command{
		Name:      "rekey",
		Usage:     "rekey a SSH certificate using the SSH CA",
		UsageText: "step ssh rekey <crt-file> <key-file> [--out <file>] [--no-password --insecure] [--force]",
		ArgsUsage: "<crt-file> <key-file>",
		Flags:     fs,
		Action:    func(c *cli.Context) error { return renewAction(c, true) },
	}
}

// renewAction renews (or rekeys) a host certificate with an SSHPOP token
// made with the certificate and its key (wire-spec §3.4, §4.5).
func renewAction(c *cli.Context, rekey bool) error {
	if err := app.CheckArgs(c, 2, 2); err != nil {
		return err
	}
	if c.Bool("offline") {
		return fmt.Errorf("--offline is not supported yet")
	}
	crtFile, keyFile := c.Args().Get(0), c.Args().Get(1)
	popCert, popKey := c.String("sshpop-cert"), c.String("sshpop-key")
	if popCert == "" {
		popCert = crtFile
	}
	if popKey == "" {
		popKey = keyFile
	}
	out := c.String("out")
	if out == "" {
		out = crtFile
	}
	if rekey {
		if err := flags.CheckNoPassword(c); err != nil {
			return err
		}
		if c.String("out") == "" {
			return fmt.Errorf("flag '--out' is required: the new key is written to <out> and its certificate to <out>-cert.pub")
		}
	}
	if err := ui.CheckOverwrite(out, c.Bool("force") || (!rekey && out == crtFile)); err != nil {
		return err
	}
	cl, roots, err := caCmd.NewClient(c)
	if err != nil {
		return err
	}
	path := "/1.0/ssh/renew"
	if rekey {
		path = "/1.0/ssh/rekey"
	}
	tok, old, err := caCmd.SSHPOPToken(c, cl, roots, popCert, popKey, path)
	if err != nil {
		return err
	}
	ctx, cancel := timeoutCtx(c)
	defer cancel()
	var resp *wire.SSHSignResponse
	var priv crypto.Signer
	if rekey {
		kty, crv, size, err := flags.KeyParams(c)
		if err != nil {
			return err
		}
		if priv, err = keyutil.Generate(kty, crv, size); err != nil {
			return err
		}
		pub, err := gossh.NewPublicKey(priv.Public())
		if err != nil {
			return err
		}
		resp, err = cl.SSHRekey(ctx, &wire.SSHRekeyRequest{OTT: tok, PublicKey: pub.Marshal()})
		if err != nil {
			return err
		}
	} else if resp, err = cl.SSHRenew(ctx, &wire.SSHRenewRequest{OTT: tok}); err != nil {
		return err
	}
	cert, err := decodeCert(resp.Certificate)
	if err != nil {
		return err
	}
	crtOut := out
	if rekey {
		pass, err := newKeyPassword(c)
		if err != nil {
			return err
		}
		block, err := marshalPrivateKey(priv, old.KeyId, pass)
		if err != nil {
			return err
		}
		if err := ui.WriteFile(out, pem.EncodeToMemory(block), 0o600, true); err != nil {
			return err
		}
		if err := ui.WriteFile(out+".pub", authorizedLine(cert.Key, old.KeyId), 0o644, true); err != nil {
			return err
		}
		ui.PrintSelected("Private Key", out)
		ui.PrintSelected("Public Key", out+".pub")
		crtOut = certPath(out)
	}
	if err := ui.WriteFile(crtOut, authorizedLine(cert, old.KeyId), 0o644, true); err != nil {
		return err
	}
	ui.PrintSelected("Certificate", crtOut)
	fmt.Fprintf(c.App.ErrWriter, "Your certificate has been saved in %s.\n", crtOut)
	return nil
}
