package main

import (
	"fmt"
	"io"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/mayfly-pki/mayfly/internal/audit"
	"github.com/mayfly-pki/mayfly/internal/version"
)

// isAuditCommand reports whether args (with the program name) are
// `step-ca audit ...` rather than a configuration file named "audit".
func isAuditCommand(args []string) bool {
	if len(args) < 2 || args[1] != "audit" {
		return false
	}
	if len(args) == 2 {
		_, err := os.Stat("audit")
		return err != nil
	}
	switch args[2] {
	case "verify", "help", "h", "--help", "-h":
		return true
	}
	return false
}

// runAudit runs `step-ca audit <subcommand>`; args starts with the program name.
func runAudit(args []string, stdout, stderr io.Writer) error {
	app := &cli.App{
		Name:            "step-ca audit",
		HelpName:        "step-ca audit",
		Usage:           "audit log tools",
		Version:         version.Version,
		Writer:          stdout,
		ErrWriter:       stderr,
		HideHelpCommand: true,
		Commands: []*cli.Command{{
			Name:      "verify",
			Usage:     "check the hash chain of an audit log",
			UsageText: "step-ca audit verify FILE",
			Description: "Reads an audit log written with ca.json's \"audit\": {\"hashChain\": true} and checks that\n" +
				"every line matches its own hash and carries the hash of the line before it: a line edited,\n" +
				"removed, inserted or reordered is reported with its number, and the command exits 1.\n" +
				"On success it prints the number of lines and the hash of the last one (the head): keep the\n" +
				"head elsewhere to detect a truncated log or a chain rewritten from the start.",
			Action: func(c *cli.Context) error {
				if c.NArg() != 1 {
					return fmt.Errorf("step-ca audit verify: want exactly one FILE, got %d arguments", c.NArg())
				}
				return verifyAuditFile(c.Args().First(), stdout)
			},
		}},
	}
	return app.Run(args)
}

func verifyAuditFile(path string, stdout io.Writer) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("step-ca audit verify: %w", err)
	}
	defer f.Close()
	res, err := audit.Verify(f)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if res.Lines == 0 {
		fmt.Fprintf(stdout, "%s: empty: nothing to verify\n", path)
		return nil
	}
	fmt.Fprintf(stdout, "%s: %d lines, hash chain intact; head %s\n", path, res.Lines, res.Head)
	return nil
}
