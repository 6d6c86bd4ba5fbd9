package certificate

import (
	"github.com/urfave/cli/v2"

	"github.com/mayfly-pki/mayfly/cmd/step/internal/app"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/flags"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/keyfile"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/ui"
)

func keyCommand() *cli.Command {
	return &cli.Command{
		Name:      "key",
		Usage:     "print public key embedded in a certificate",
		UsageText: "**step certificate key** <crt-file> [**--out**=<file>] [**--force**]",
		ArgsUsage: "<crt-file>",
		Description: `**step certificate key** prints the public key (PEM "PUBLIC KEY") of a
certificate or CSR, or writes it to --out.

    $ step certificate key foo.crt
    $ step certificate key foo.csr --out foo.pub`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "out", Usage: "The `file` to write the public key to."},
			flags.Force(),
		},
		Action: func(c *cli.Context) error {
			if err := app.CheckArgs(c, 1, 1); err != nil {
				return err
			}
			in, err := readCertsOrCSR(c.Args().First(), true)
			if err != nil {
				return err
			}
			var pub any
			if in.csr != nil {
				pub = in.csr.PublicKey
			} else {
				pub = in.certs[0].PublicKey
			}
			b, err := keyfile.EncodePublicKey(pub)
			if err != nil {
				return err
			}
			if out := c.String("out"); out != "" {
				if err := ui.WriteFile(out, b, 0o644, c.Bool("force")); err != nil {
					return err
				}
				ui.Printf("The public key has been saved in %s.\n", out)
				return nil
			}
			_, err = c.App.Writer.Write(b)
			return err
		},
	}
}
