package ssh

import (
	"encoding/base64"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"
	gossh "golang.org/x/crypto/ssh"

	"github.com/mayfly-pki/mayfly/cmd/step/internal/app"
	caCmd "github.com/mayfly-pki/mayfly/cmd/step/internal/command/ca"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/flags"
)

func configCommand() *cli.Command {
	return &cli.Command{
		Name:  "config",
		Usage: "configures ssh to be used with certificates",
		UsageText: `step ssh config [--host] [--roots] [--federation] [--set <key=value>] [--set-file <file>] [--dry-run] [--force]

With --roots, prints the CA's user keys (with --host, its host keys; with
--federation, the federated ones too) as authorized_keys lines. Otherwise
renders the CA's ssh templates into the files they name.`,
		Flags: []cli.Flag{
			flags.CaURL(), flags.Root(), flags.Context(), flags.Force(), flags.Offline(),
			&cli.BoolFlag{Name: "host", Usage: "Configure an SSH server instead of a client."},
			&cli.BoolFlag{Name: "roots", Usage: "Print the public keys that sign the certificates."},
			&cli.BoolFlag{Name: "federation", Usage: "Print the public keys of the federation (with --roots)."},
			&cli.StringSliceFlag{Name: "set", Usage: "The `key=value` template data (repeatable)."},
			&cli.StringFlag{Name: "set-file", Usage: "The JSON `file` of template data."},
			&cli.BoolFlag{Name: "dry-run", Usage: "Print the files instead of writing them."},
			&cli.StringFlag{Name: "console", Hidden: true},
		},
		Action: configAction,
	}
}

func configAction(c *cli.Context) error {
	if err := app.CheckArgs(c, 0, 0); err != nil {
		return err
	}
	if c.Bool("offline") {
		return fmt.Errorf("--offline is not supported yet")
	}
	cl, _, err := caCmd.NewClient(c)
	if err != nil {
		return err
	}
	ctx, cancel := timeoutCtx(c)
	defer cancel()
	if c.Bool("roots") || c.Bool("federation") {
		get := cl.SSHRoots
		if c.Bool("federation") {
			get = cl.SSHFederation
		}
		keys, err := get(ctx)
		if err != nil {
			return err
		}
		list := keys.UserKeys
		if c.Bool("host") {
			list = keys.HostKeys
		}
		for _, b64 := range list {
			b, err := base64.StdEncoding.DecodeString(b64)
			if err != nil {
				return fmt.Errorf("error decoding a key of the CA: %w", err)
			}
			k, err := gossh.ParsePublicKey(b)
			if err != nil {
				return fmt.Errorf("error parsing a key of the CA: %w", err)
			}
			os.Stdout.Write(gossh.MarshalAuthorizedKey(k))
		}
		return nil
	}
	return renderConfig(c, cl, ctx)
}
