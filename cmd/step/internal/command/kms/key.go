package kms

import (
	"github.com/urfave/cli/v2"

	"github.com/mayfly-pki/mayfly/cmd/step/internal/app"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/kmsutil"
)

func keyCommand() *cli.Command {
	return &cli.Command{
		Name:      "key",
		Usage:     "print the public key of a key in a key manager",
		UsageText: "**step kms key** <key-uri> [**--kms**=<uri>] [**--json**]",
		ArgsUsage: "<key-uri>",
		Description: `**step kms key** prints the public key (PEM) of <key-uri>.

    $ step kms key --kms "$PKCS_URI" "pkcs11:id=7332;object=intermediate-ca"`,
		Flags: []cli.Flag{
			kmsFlag(),
			&cli.BoolFlag{Name: "json", Usage: "Print the key name and public key as JSON."},
		},
		Action: func(c *cli.Context) error {
			if err := app.CheckArgs(c, 1, 1); err != nil {
				return err
			}
			km, err := kmsutil.Open(c.Context, c.String("kms"))
			if err != nil {
				return err
			}
			defer km.Close()
			pub, err := km.GetPublicKey(c.Context, c.Args().First())
			if err != nil {
				return err
			}
			return printKey(c, c.Args().First(), pub, c.Bool("json"))
		},
	}
}
