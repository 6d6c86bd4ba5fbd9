// Package kms implements "step kms", the commands of step's kms plugin
// (step-kms-plugin): create keys in a key manager, print their public keys,
// sign with them.
package kms

import (
	"github.com/urfave/cli/v2"
)

// Command returns the "step kms" group.
func Command() *cli.Command {
	return &cli.Command{
		Name:      "kms",
		Usage:     "create keys in a KMS or HSM, print their public keys and sign with them",
		UsageText: "**step kms** <subcommand> [arguments] [global-flags] [subcommand-flags]",
		Subcommands: []*cli.Command{
			createCommand(),
			keyCommand(),
			signCommand(),
		},
	}
}

func kmsFlag() *cli.StringFlag {
	return &cli.StringFlag{Name: "kms", Usage: "The `uri` of the key manager: pkcs11:module-path=...;token=...?pin-value=... (default: key files, softkms)."}
}
