// Package certificate implements the "step certificate" command group: create,
// inspect, verify and convert X.509 certificates locally.
package certificate

import "github.com/urfave/cli/v2"

// Command returns the "step certificate" group.
func Command() *cli.Command {
	return &cli.Command{
		Name:      "certificate",
		Usage:     "create, revoke, validate, bundle, and otherwise manage certificates",
		UsageText: "**step certificate** <subcommand> [arguments] [global-flags] [subcommand-flags]",
		Subcommands: []*cli.Command{
			bundleCommand(),
			createCommand(),
			fingerprintCommand(),
			inspectCommand(),
			keyCommand(),
			lintCommand(),
			needsRenewalCommand(),
			p12Command(),
			signCommand(),
			verifyCommand(),
		},
	}
}
