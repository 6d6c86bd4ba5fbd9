package ca

import (
	"context"
	"crypto"
	"crypto/x509"
	"fmt"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/mayfly-pki/mayfly/ca/client"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/app"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/flags"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/ui"
	"github.com/mayfly-pki/mayfly/internal/keyutil"
	"github.com/mayfly-pki/mayfly/internal/pemutil"
)

func rekeyCommand() *cli.Command {
	fs := []cli.Flag{
		flags.CaURL(), flags.Root(), flags.Context(), flags.Force(),
		&cli.StringFlag{Name: "out-cert", Usage: "The new certificate `file` path (default: the input certificate)."},
		&cli.StringFlag{Name: "out-key", Usage: "The new key `file` path (default: the input key)."},
		&cli.StringFlag{Name: "private-key", Usage: "Use this existing private key `file` instead of generating one."},
		flags.ExpiresIn("Rekey only when the certificate expires within this `duration` (or percentage)."),
		flags.PasswordFile("The path to the `file` containing the password to decrypt the private key."),
	}
	fs = append(fs, daemonFlags("rekey-period")...)
	return &cli.Command{
		Name:      "rekey",
		Usage:     "rekey a valid certificate",
		UsageText: "step ca rekey <crt-file> <key-file> [--out-cert <file>] [--out-key <file>] [--private-key <file>] [--kty <type>] [--force]",
		ArgsUsage: "<crt-file> <key-file>",
		Flags:     append(fs, flags.KeyFlags()...),
		Action:    rekeyAction,
	}
}

func rekeyAction(c *cli.Context) error {
	if err := app.CheckArgs(c, 2, 2); err != nil {
		return err
	}
	crtFile, keyFile := c.Args().Get(0), c.Args().Get(1)
	outCert, outKey := c.String("out-cert"), c.String("out-key")
	if outCert == "" {
		outCert = crtFile
	}
	if outKey == "" {
		outKey = keyFile
	}
	id, err := readIdentity(c, crtFile, keyFile)
	if err != nil {
		return err
	}
	dopts, err := checkDaemonFlags(c, "rekey-period", id.leaf())
	if err != nil {
		return err
	}
	cl, _, err := newClient(c)
	if err != nil {
		return err
	}
	if c.Bool("daemon") {
		r := func(ctx context.Context) (*x509.Certificate, error) {
			cur, err := readIdentity(c, outCert, outKey)
			if err != nil {
				return nil, err
			}
			return rekeyAndWrite(c, cl, cur, outCert, outKey)
		}
		return newDaemon(dopts, r, os.Stdout, os.Stderr).run(c.Context, id.leaf())
	}
	now := time.Now()
	due, err := needsRenewal(id.leaf(), c.String("expires-in"), now)
	if err != nil {
		return err
	}
	if !due {
		ui.Printf("certificate not rekeyed: expires in %s\n", id.leaf().NotAfter.Sub(now).Round(time.Second))
		return nil
	}
	for _, f := range []string{outCert, outKey} {
		if err := ui.CheckOverwrite(f, c.Bool("force")); err != nil {
			return err
		}
	}
	if _, err := rekeyAndWrite(c, cl, id, outCert, outKey); err != nil {
		return err
	}
	dopts.afterRenewalOnce()
	ui.Printf("Your certificate has been saved in %s.\n", outCert)
	ui.Printf("Your private key has been saved in %s.\n", outKey)
	return nil
}

// rekeyAndWrite gets a certificate for a new key (or --private-key) and
// writes the key, then the certificate, each atomically with mode 0600.
func rekeyAndWrite(c *cli.Context, cl *client.Client, id *identity, outCert, outKey string) (*x509.Certificate, error) {
	var key crypto.Signer
	if pk := c.String("private-key"); pk != "" {
		data, err := os.ReadFile(pk)
		if err != nil {
			return nil, fmt.Errorf("error reading key: %w", err)
		}
		if key, err = pemutil.ParsePrivateKey(data, nil); err != nil {
			return nil, fmt.Errorf("error reading %s: %w", pk, err)
		}
	} else {
		kty, crv, size, err := flags.KeyParams(c)
		if err != nil {
			return nil, err
		}
		if key, err = keyutil.Generate(kty, crv, size); err != nil {
			return nil, err
		}
	}
	csr, err := newCSR("", nil, key)
	if err != nil {
		return nil, err
	}
	ctx, cancel := timeoutCtx(c)
	defer cancel()
	resp, err := cl.Rekey(ctx, id.tlsCertificate(), string(pemutil.EncodeCSR(csr.Raw)))
	if err != nil {
		return nil, err
	}
	chain := chainPEM(resp)
	certs, err := pemutil.ParseCertificates(chain)
	if err != nil {
		return nil, fmt.Errorf("the CA answered an unreadable certificate: %w", err)
	}
	block, err := pemutil.MarshalPrivateKey(key, nil)
	if err != nil {
		return nil, err
	}
	if err := ui.WriteFile(outKey, pemBytes(block), 0o600, true); err != nil {
		return nil, err
	}
	if err := ui.WriteFile(outCert, chain, 0o600, true); err != nil {
		return nil, err
	}
	return certs[0], nil
}
