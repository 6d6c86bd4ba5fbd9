package certificate

import (
	"encoding/json"
	"fmt"

	"github.com/urfave/cli/v2"
	zx509 "github.com/zmap/zcrypto/x509"
	"github.com/zmap/zlint/v3"
	"github.com/zmap/zlint/v3/lint"

	"github.com/mayfly-pki/mayfly/cmd/step/internal/app"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/flags"
)

func lintCommand() *cli.Command {
	return &cli.Command{
		Name:      "lint",
		Usage:     "lint certificate details",
		UsageText: "**step certificate lint** <crt-file|hostname> [**--all**] [**--roots**=<root-bundle>] [**--servername**=<servername>] [**--insecure**]",
		ArgsUsage: "<crt-file>",
		Description: `**step certificate lint** runs zlint on the (first) certificate and prints the
result set as JSON: the RFC 5280 lints by default, every lint (CA/Browser Forum,
ETSI, ...) with --all. A lint that fails shows as "error" or "warn" in "lints",
and "errors_present"/"warnings_present" summarize the run.

    $ step certificate lint ./certificate.crt
    $ step certificate lint https://smallstep.com --all`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "all", Usage: "Run every zlint lint, not only the RFC 5280 ones."},
			flags.Roots(""),
			flags.ServerName(),
			&cli.BoolFlag{Name: "insecure", Usage: "Use an insecure client to retrieve a remote peer certificate."},
		},
		Action: lintAction,
	}
}

func lintAction(c *cli.Context) error {
	if err := app.CheckArgs(c, 1, 1); err != nil {
		return err
	}
	in, err := readInspectInput(c, c.Args().First())
	if err != nil {
		return err
	}
	if in.csr != nil {
		return fmt.Errorf("%s is a certificate request: only certificates can be linted", c.Args().First())
	}
	zcrt, err := zx509.ParseCertificate(in.certs[0].Raw)
	if err != nil {
		return fmt.Errorf("error parsing certificate %s: %w", c.Args().First(), err)
	}
	registry := lint.GlobalRegistry()
	if !c.Bool("all") {
		if registry, err = registry.Filter(lint.FilterOptions{IncludeSources: lint.SourceList{lint.RFC5280}}); err != nil {
			return fmt.Errorf("error selecting lints: %w", err)
		}
	}
	result := zlint.LintCertificateEx(zcrt, registry)
	b, err := json.MarshalIndent(result, "", " ")
	if err != nil {
		return fmt.Errorf("error encoding lint results: %w", err)
	}
	_, err = c.App.Writer.Write(append(b, '\n'))
	return err
}
