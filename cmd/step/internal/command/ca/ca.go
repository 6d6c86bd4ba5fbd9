// Package ca is the `step ca` command group: talk to a step CA.
package ca

import (
	"github.com/urfave/cli/v2"
)

// Command returns the `step ca` group.
func Command() *cli.Command {
	return &cli.Command{
		Name:  "ca",
		Usage: "initialize and manage a certificate authority",
		Subcommands: []*cli.Command{
			InitCommand(),
			bootstrapCommand(),
			rootCommand(),
			rootsCommand("roots", "/roots", "print the PEM of the CA's root certificates"),
			rootsCommand("federation", "/federation", "print the PEM of the CA's federated roots"),
			healthCommand(),
			tokenCommand(),
			certificateCommand(),
			signCommand(),
			renewCommand(),
			rekeyCommand(),
			revokeCommand(),
			provisionerCommand(),
			adminCommand(),
			acmeCommand(),
			policyCommand(),
			certificatesCommand(),
		},
	}
}
