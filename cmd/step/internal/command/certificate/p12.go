package certificate

import (
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"
	pkcs12 "software.sslmate.com/src/go-pkcs12"

	"github.com/mayfly-pki/mayfly/cmd/step/internal/app"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/flags"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/keyfile"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/ui"
	"github.com/mayfly-pki/mayfly/internal/keyutil"
)

func p12Command() *cli.Command {
	return &cli.Command{
		Name:      "p12",
		Usage:     "package a certificate and keys into a .p12 file",
		UsageText: "**step certificate p12** <p12-path> [<crt-path>] [<key-path>] [**--ca**=<file>] [**--password-file**=<file>] [**--no-password** **--insecure**] [**--legacy**] [**--force**]",
		ArgsUsage: "<p12-path> [<crt-path>] [<key-path>]",
		Description: `**step certificate p12** writes a PKCS#12 file: a certificate, its private key
and the --ca certificates; or, with only --ca, a trust store. The file is encrypted
with the password of --password-file (or typed), with modern algorithms (AES-256,
PBKDF2-SHA256) unless --legacy (3DES, SHA-1) is given.

    $ step certificate p12 foo.p12 foo.crt foo.key --ca intermediate_ca.crt
    $ step certificate p12 trust.p12 --ca root_ca.crt --password-file pass.txt`,
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "ca", Usage: "The path to a CA certificate `file` to add to the bundle; repeat for several."},
			flags.PasswordFile("The path to the `file` containing the password to encrypt the .p12 file."),
			flags.NoPassword(),
			flags.Insecure(),
			&cli.StringFlag{Name: "key-password-file", Usage: "The path to the `file` containing the password to decrypt <key-path>."},
			&cli.BoolFlag{Name: "legacy", Usage: "Use legacy encryption (3DES, SHA-1 MAC) for old software."},
			flags.Force(),
		},
		Action: p12Action,
	}
}

func p12Action(c *cli.Context) error {
	if err := app.CheckArgs(c, 1, 3); err != nil {
		return err
	}
	if err := flags.CheckNoPassword(c); err != nil {
		return err
	}
	p12File, crtFile, keyFile := c.Args().Get(0), c.Args().Get(1), c.Args().Get(2)
	if crtFile != "" && keyFile == "" {
		return errors.New("a private key is required with a certificate: give <key-path>")
	}
	if crtFile == "" && len(c.StringSlice("ca")) == 0 {
		return errors.New("nothing to package: give <crt-path> <key-path>, or --ca for a trust store")
	}
	if err := ui.CheckOverwrite(p12File, c.Bool("force")); err != nil {
		return err
	}
	var cas []*x509.Certificate
	for _, f := range c.StringSlice("ca") {
		certs, err := readCerts(f)
		if err != nil {
			return err
		}
		cas = append(cas, certs...)
	}
	var (
		crt *x509.Certificate
		key any
	)
	if crtFile != "" {
		certs, err := readCerts(crtFile)
		if err != nil {
			return err
		}
		crt, cas = certs[0], append(cas, certs[1:]...)
		signer, err := keyfile.ReadPrivateKey(keyFile, ui.PasswordFlag(c, "key-password-file"))
		if err != nil {
			return err
		}
		if !keyutil.Equal(crt.PublicKey, signer.Public()) {
			return fmt.Errorf("the private key %s does not match the certificate %s", keyFile, crtFile)
		}
		key = signer
	}
	var pass []byte
	if !c.Bool("no-password") {
		var err error
		if pass, err = ui.ReadPassword(ui.PasswordFlag(c, "password-file"), "Please enter a password to encrypt the .p12 file:"); err != nil {
			return err
		}
	}
	enc := pkcs12.Modern
	switch {
	case c.Bool("legacy"):
		enc = pkcs12.Legacy
	case len(pass) == 0:
		enc = pkcs12.Passwordless
	}
	var (
		der []byte
		err error
	)
	if crt == nil {
		der, err = enc.EncodeTrustStore(cas, string(pass))
	} else {
		der, err = enc.Encode(key, crt, cas, string(pass))
	}
	if err != nil {
		return fmt.Errorf("error creating %s: %w", p12File, err)
	}
	if err := ui.WriteFile(p12File, der, 0o600, true); err != nil {
		return err
	}
	ui.Printf("Your .p12 bundle has been saved as %s.\n", p12File)
	return nil
}
