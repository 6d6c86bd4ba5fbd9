package ca

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/mayfly-pki/mayfly/ca/client"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/flags"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/ui"
	"github.com/mayfly-pki/mayfly/internal/fileutil"
	"github.com/mayfly-pki/mayfly/internal/pemutil"
	"github.com/mayfly-pki/mayfly/internal/steppath"
)

func bootstrapCommand() *cli.Command {
	return &cli.Command{
		Name:      "bootstrap",
		Usage:     "initialize the environment to use the CA commands",
		UsageText: "step ca bootstrap --ca-url <uri> --fingerprint <fingerprint> [--install] [--force]",
		Description: "Downloads the root certificate of the CA, checks it against the fingerprint, and writes\n" +
			"$(step path)/certs/root_ca.crt and $(step path)/config/defaults.json.",
		Flags: []cli.Flag{
			flags.CaURL(), flags.Fingerprint(), flags.Force(), flags.Context(),
			&cli.BoolFlag{Name: "install", Usage: "Install the root certificate into the system truststore (not supported)."},
		},
		Action: bootstrapAction,
	}
}

// bootstrapDefaults is defaults.json as bootstrap writes it (wire-spec §1.4).
type bootstrapDefaults struct {
	CAURL       string `json:"ca-url"`
	Fingerprint string `json:"fingerprint"`
	Root        string `json:"root"`
}

func bootstrapAction(c *cli.Context) error {
	caURL, err := flags.RequireString(c, "ca-url")
	if err != nil {
		return err
	}
	fp, err := flags.RequireString(c, "fingerprint")
	if err != nil {
		return err
	}
	if c.Bool("install") {
		return fmt.Errorf("--install is not supported yet: add %s to the system trust store by hand", "certs/root_ca.crt")
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
	rootPath, err := steppath.RootFile()
	if err != nil {
		return err
	}
	defaultsPath, err := steppath.DefaultsFile()
	if err != nil {
		return err
	}
	for _, p := range []string{rootPath, defaultsPath} {
		if err := ui.CheckOverwrite(p, c.Bool("force")); err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return fmt.Errorf("error creating %s: %w", filepath.Dir(p), err)
		}
	}
	if err := fileutil.WriteFile(rootPath, pemutil.EncodeCertificate(root), 0o600); err != nil {
		return err
	}
	ui.Printf("The root certificate has been saved in %s.\n", rootPath)
	b, err := json.MarshalIndent(bootstrapDefaults{CAURL: cl.URL().String(), Fingerprint: pemutil.Fingerprint(root), Root: rootPath}, "", "  ")
	if err != nil {
		return err
	}
	if err := fileutil.WriteFile(defaultsPath, append(b, '\n'), 0o644); err != nil {
		return err
	}
	ui.Printf("The authority configuration has been saved in %s.\n", defaultsPath)
	return nil
}
