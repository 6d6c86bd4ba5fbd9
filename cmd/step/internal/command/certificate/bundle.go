package certificate

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/mayfly-pki/mayfly/cmd/step/internal/app"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/flags"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/ui"
	"github.com/mayfly-pki/mayfly/internal/pemutil"
)

func bundleCommand() *cli.Command {
	return &cli.Command{
		Name:      "bundle",
		Usage:     "bundle a certificate with intermediate certificate(s) needed for certificate path validation",
		UsageText: "**step certificate bundle** <crt-file> <ca> <bundle-file> [**--force**]",
		ArgsUsage: "<crt-file> <ca> <bundle-file>",
		Description: `**step certificate bundle** writes <crt-file> followed by the certificates of
<ca> (PEM) to <bundle-file>.

    $ step certificate bundle foo.crt intermediate-ca.crt foo-bundle.crt`,
		Flags: []cli.Flag{flags.Force()},
		Action: func(c *cli.Context) error {
			if err := app.CheckArgs(c, 3, 3); err != nil {
				return err
			}
			crtFile, caFile, bundleFile := c.Args().Get(0), c.Args().Get(1), c.Args().Get(2)
			crts, err := readCerts(crtFile)
			if err != nil {
				return err
			}
			cas, err := readCerts(caFile)
			if err != nil {
				return err
			}
			out := pemutil.EncodeCertificates(append(crts, cas...)...)
			if err := ui.WriteFile(bundleFile, out, 0o600, c.Bool("force")); err != nil {
				return fmt.Errorf("error writing %s: %w", bundleFile, err)
			}
			ui.Printf("Your certificate has been saved in %s.\n", bundleFile)
			return nil
		},
	}
}
