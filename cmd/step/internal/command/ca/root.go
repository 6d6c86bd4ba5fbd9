package ca

import (
	"crypto/x509"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/mayfly-pki/mayfly/ca/client"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/app"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/flags"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/ui"
	"github.com/mayfly-pki/mayfly/internal/pemutil"
)

func rootCommand() *cli.Command {
	return &cli.Command{
		Name:      "root",
		Usage:     "download and validate the root certificate",
		UsageText: "step ca root [<root-file>] [--ca-url <uri>] [--fingerprint <fingerprint>] [--force]",
		ArgsUsage: "[<root-file>]",
		Flags:     []cli.Flag{flags.CaURL(), flags.Fingerprint(), flags.Root(), flags.Force(), flags.Context()},
		Action: func(c *cli.Context) error {
			if err := app.CheckArgs(c, 0, 1); err != nil {
				return err
			}
			caURL, err := flags.RequireString(c, "ca-url")
			if err != nil {
				return err
			}
			fp, err := flags.RequireString(c, "fingerprint")
			if err != nil {
				return err
			}
			cl, err := client.New(caURL, nil)
			if err != nil {
				return err
			}
			ctx, cancel := timeoutCtx(c)
			defer cancel()
			root, err := cl.Root(ctx, fp)
			if err != nil {
				return err
			}
			return writeOrPrint(c, c.Args().First(), []*x509.Certificate{root}, "The root certificate has been saved in %s.\n")
		},
	}
}

func rootsCommand(name, path, usage string) *cli.Command {
	return &cli.Command{
		Name:      name,
		Usage:     usage,
		UsageText: fmt.Sprintf("step ca %s [<file>] [--ca-url <uri>] [--root <file>] [--force]", name),
		ArgsUsage: "[<file>]",
		Flags:     []cli.Flag{flags.CaURL(), flags.Root(), flags.Force(), flags.Context()},
		Action: func(c *cli.Context) error {
			if err := app.CheckArgs(c, 0, 1); err != nil {
				return err
			}
			cl, _, err := newClient(c)
			if err != nil {
				return err
			}
			ctx, cancel := timeoutCtx(c)
			defer cancel()
			var certs []*x509.Certificate
			if path == "/roots" {
				certs, err = cl.Roots(ctx)
			} else {
				certs, err = cl.Federation(ctx)
			}
			if err != nil {
				return err
			}
			return writeOrPrint(c, c.Args().First(), certs, "The "+name+" certificates have been saved in %s.\n")
		},
	}
}

// writeOrPrint writes the PEM of certs to file (when given) or stdout.
func writeOrPrint(c *cli.Context, file string, certs []*x509.Certificate, saved string) error {
	data := pemutil.EncodeCertificates(certs...)
	if file == "" {
		_, err := os.Stdout.Write(data)
		return err
	}
	if err := ui.WriteFile(file, data, 0o600, c.Bool("force")); err != nil {
		return err
	}
	ui.Printf(saved, file)
	return nil
}

func healthCommand() *cli.Command {
	return &cli.Command{
		Name:      "health",
		Usage:     "get the status of the CA",
		UsageText: "step ca health [--ca-url <uri>] [--root <file>]",
		Flags:     []cli.Flag{flags.CaURL(), flags.Root(), flags.Context()},
		Action: func(c *cli.Context) error {
			cl, _, err := newClient(c)
			if err != nil {
				return err
			}
			ctx, cancel := timeoutCtx(c)
			defer cancel()
			status, err := cl.Health(ctx)
			if err != nil {
				return err
			}
			fmt.Println(status)
			return nil
		},
	}
}
