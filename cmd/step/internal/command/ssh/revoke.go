package ssh

import (
	"fmt"
	"os"
	"strconv"

	"github.com/urfave/cli/v2"

	"github.com/mayfly-pki/mayfly/api/wire"
	"github.com/mayfly-pki/mayfly/authority"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/app"
	caCmd "github.com/mayfly-pki/mayfly/cmd/step/internal/command/ca"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/flags"
)

func revokeCommand() *cli.Command {
	fs := append([]cli.Flag{
		flags.CaURL(), flags.Root(), flags.Context(), flags.Token(),
		&cli.StringFlag{Name: "reason", Usage: "The `string` explaining the revocation."},
		&cli.StringFlag{Name: "reasonCode", Usage: "The `code` of the revocation reason: 0-10 or a name such as KeyCompromise."},
		&cli.StringFlag{Name: "sshpop-cert", Usage: "Revoke with an SSHPOP token made with this certificate `file`."},
		&cli.StringFlag{Name: "sshpop-key", Usage: "The key `file` of --sshpop-cert."},
		flags.PasswordFile("The path to the `file` with the password of --sshpop-key."),
		flags.Offline(),
	}, caCmd.TokenFlags()...)
	return &cli.Command{
		Name:      "revoke",
		Usage:     "revoke a SSH certificate using the SSH CA",
		UsageText: "step ssh revoke <serial-number> [--token <token>] [--provisioner <name>] [--reason <string>] [--reasonCode <code>]",
		ArgsUsage: "<serial-number>",
		Flags:     fs,
		Action:    revokeAction,
	}
}

func revokeAction(c *cli.Context) error {
	if err := app.CheckArgs(c, 1, 1); err != nil {
		return err
	}
	serial := c.Args().First()
	if _, err := strconv.ParseUint(serial, 10, 64); err != nil {
		return fmt.Errorf("'%s' is not a valid ssh certificate serial number: want a decimal number below 2^64", serial)
	}
	if c.Bool("offline") {
		return fmt.Errorf("--offline is not supported yet")
	}
	if (c.String("sshpop-cert") == "") != (c.String("sshpop-key") == "") {
		return fmt.Errorf("flags '--sshpop-cert' and '--sshpop-key' go together")
	}
	code, err := authority.ParseReasonCode(c.String("reasonCode"))
	if err != nil {
		return err
	}
	cl, roots, err := caCmd.NewClient(c)
	if err != nil {
		return err
	}
	tok := c.String("token")
	if tok == "" && c.String("sshpop-cert") != "" {
		if tok, _, err = caCmd.SSHPOPToken(c, cl, roots, c.String("sshpop-cert"), c.String("sshpop-key"), "/1.0/ssh/revoke"); err != nil {
			return err
		}
	}
	if tok == "" {
		if tok, err = caCmd.MintSSHToken(c, cl, roots, caCmd.SSHToken{Subject: serial, Path: "/1.0/ssh/revoke"}); err != nil {
			return err
		}
	}
	ctx, cancel := timeoutCtx(c)
	defer cancel()
	if err := cl.SSHRevoke(ctx, &wire.SSHRevokeRequest{Serial: serial, OTT: tok, ReasonCode: code, Reason: c.String("reason"), Passive: true}); err != nil {
		return err
	}
	_, err = fmt.Fprintf(os.Stdout, "SSH Certificate with Serial Number %s has been revoked.\n", serial)
	return err
}
