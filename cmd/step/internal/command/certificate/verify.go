package certificate

import (
	"crypto/x509"
	"fmt"
	"net"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/mayfly-pki/mayfly/cmd/step/internal/app"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/flags"
)

func verifyCommand() *cli.Command {
	return &cli.Command{
		Name:      "verify",
		Usage:     "verify a certificate",
		UsageText: "**step certificate verify** <crt-file|hostname> [**--host**=<host>] [**--roots**=<root-bundle>] [**--servername**=<servername>] [**--issuing-ca**=<ca-cert-file>] [**--verify-crl**] [**--crl-endpoint**=<url>] [**--verify-ocsp**] [**--ocsp-endpoint**=<url>] [**--verbose**]",
		ArgsUsage: "<crt-file>",
		Description: `**step certificate verify** checks that the certificate chains to a trusted
root (--roots, else the system roots), using the other certificates of the file
as intermediates, and with --host that it is valid for that name. It prints
nothing and exits 0 on success; on failure it prints the reason and exits 1.
With --verify-crl the certificate must not be on its issuer's CRL (from
--crl-endpoint, else its CRL distribution points); with --verify-ocsp its
issuer's OCSP responder (--ocsp-endpoint, else the AIA OCSP servers) must
answer good.

    $ step certificate verify ./certificate.crt --roots ./root_ca.crt
    $ step certificate verify ./certificate.crt --roots ./root_ca.crt --host example.com`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "host", Usage: "Check whether the certificate is for the specified `host`."},
			flags.Roots("Root certificate(s) that will be used to verify the certificate: a `list` of files separated by commas, or a directory. Defaults to the system roots."),
			flags.ServerName(),
			&cli.StringFlag{Name: "issuing-ca", Usage: "The certificate issuer CA `file`, added to the intermediates."},
			&cli.BoolFlag{Name: "verbose", Usage: "Print the result of the verification."},
			&cli.BoolFlag{Name: "verify-ocsp", Usage: "Verify the certificate against its OCSP responder."},
			&cli.StringFlag{Name: "ocsp-endpoint", Usage: "The OCSP `endpoint` to use. If not provided, step asks the certificate's OCSP servers (AIA extension)."},
			&cli.BoolFlag{Name: "verify-crl", Usage: "Verify the certificate against its CRL."},
			&cli.StringFlag{Name: "crl-endpoint", Usage: "The CRL `endpoint` to use. If not provided, step uses the certificate's CRL distribution points."},
		},
		Action: verifyAction,
	}
}

func verifyAction(c *cli.Context) error {
	if err := app.CheckArgs(c, 1, 1); err != nil {
		return err
	}
	if c.String("ocsp-endpoint") != "" && !c.Bool("verify-ocsp") {
		return fmt.Errorf("flag '--ocsp-endpoint' requires the '--verify-ocsp' flag")
	}
	if c.String("crl-endpoint") != "" && !c.Bool("verify-crl") {
		return fmt.Errorf("flag '--crl-endpoint' requires the '--verify-crl' flag")
	}
	roots, err := loadRoots(c.String("roots"))
	if err != nil {
		return err
	}
	ref := c.Args().First()
	var certs []*x509.Certificate
	addr, remote, err := remoteAddress(ref)
	switch {
	case err != nil:
		return err
	case remote:
		// The chain is verified below, with the requested host name.
		if certs, err = fetchPeerCertificates(addr, c.String("servername"), nil, true); err != nil {
			return err
		}
	default:
		if certs, err = readCerts(ref); err != nil {
			return err
		}
	}
	host := c.String("host")
	if remote && host == "" {
		host, _, _ = net.SplitHostPort(addr)
	}
	intermediates := x509.NewCertPool()
	for _, crt := range certs[1:] {
		intermediates.AddCert(crt)
	}
	if f := c.String("issuing-ca"); f != "" {
		cas, err := readCerts(f)
		if err != nil {
			return err
		}
		for _, crt := range cas {
			intermediates.AddCert(crt)
		}
	}
	opts := x509.VerifyOptions{
		DNSName:       host,
		Roots:         roots,
		Intermediates: intermediates,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	}
	chains, err := certs[0].Verify(opts)
	if err != nil {
		return fmt.Errorf("failed to verify certificate: %w", err)
	}
	if c.Bool("verify-crl") || c.Bool("verify-ocsp") {
		if len(chains[0]) < 2 {
			return fmt.Errorf("failed to verify certificate: a self-signed certificate has no issuer to check revocation with")
		}
		issuer, hc, now := chains[0][1], revocationClient(roots), time.Now()
		if c.Bool("verify-crl") {
			u, err := checkCRL(hc, certs[0], issuer, c.String("crl-endpoint"), now)
			if err != nil {
				return err
			}
			if c.Bool("verbose") {
				fmt.Fprintf(c.App.Writer, "certificate is not revoked in the CRL from %s\n", u)
			}
		}
		if c.Bool("verify-ocsp") {
			u, err := checkOCSP(hc, certs[0], issuer, c.String("ocsp-endpoint"))
			if err != nil {
				return err
			}
			if c.Bool("verbose") {
				fmt.Fprintf(c.App.Writer, "certificate is good according to the OCSP responder %s\n", u)
			}
		}
	}
	if c.Bool("verbose") {
		_, err := fmt.Fprintln(c.App.Writer, "certificate is valid")
		return err
	}
	return nil
}
