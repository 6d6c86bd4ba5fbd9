package ca

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/mayfly-pki/mayfly/cmd/step/internal/flags"
)

func provisionerCommand() *cli.Command {
	return &cli.Command{
		Name:  "provisioner",
		Usage: "create and manage the certificate authority provisioners",
		Subcommands: []*cli.Command{{
			Name:      "list",
			Usage:     "list provisioners configured in the CA",
			UsageText: "step ca provisioner list [--ca-url <uri>] [--root <file>]",
			Flags:     []cli.Flag{flags.CaURL(), flags.Root(), flags.Context()},
			Action: func(c *cli.Context) error {
				cl, _, err := newClient(c)
				if err != nil {
					return err
				}
				ctx, cancel := timeoutCtx(c)
				defer cancel()
				list, err := cl.Provisioners(ctx)
				if err != nil {
					return err
				}
				if list == nil {
					list = []json.RawMessage{}
				}
				b, err := json.Marshal(list)
				if err != nil {
					return err
				}
				var out bytes.Buffer
				if err := json.Indent(&out, b, "", "   "); err != nil {
					return err
				}
				fmt.Println(out.String())
				return nil
			},
		}, provisionerAddCommand(), provisionerRemoveCommand(), provisionerUpdateCommand(), provisionerWebhookCommand()},
	}
}
