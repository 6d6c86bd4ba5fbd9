// Package crl implements the "step crl" command group: inspect a
// certificate revocation list.
package crl

import "github.com/urfave/cli/v2"

// Command returns the "step crl" group.
func Command() *cli.Command {
	return &cli.Command{
		Name:        "crl",
		Usage:       "initialize and manage a certificate revocation list",
		UsageText:   "**step crl** <subcommand> [arguments] [global-flags] [subcommand-flags]",
		Subcommands: []*cli.Command{inspectCommand()},
	}
}
