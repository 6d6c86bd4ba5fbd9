// Package crypto implements the "step crypto" command group: keys, JWK, JWT,
// hashes and random data.
package crypto

import "github.com/urfave/cli/v2"

// Command returns the "step crypto" group.
func Command() *cli.Command {
	return &cli.Command{
		Name:      "crypto",
		Usage:     "useful cryptographic plumbing",
		UsageText: "**step crypto** <subcommand> [arguments] [global-flags] [subcommand-flags]",
		Subcommands: []*cli.Command{
			changePassCommand(),
			hashCommand(),
			jweCommand(),
			jwkCommand(),
			jwtCommand(),
			keyCommand(),
			keypairCommand(),
			randCommand(),
		},
	}
}
