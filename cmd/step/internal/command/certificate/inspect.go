package certificate

import (
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"

	"github.com/urfave/cli/v2"
	zx509 "github.com/zmap/zcrypto/x509"

	"github.com/mayfly-pki/mayfly/cmd/step/internal/app"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/certinfo"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/flags"
	"github.com/mayfly-pki/mayfly/internal/pemutil"
)

func inspectCommand() *cli.Command {
	return &cli.Command{
		Name:      "inspect",
		Usage:     "print certificate or CSR details in human readable format",
		UsageText: "**step certificate inspect** <crt-file|hostname> [**--bundle**] [**--short**] [**--format**=<format>] [**--roots**=<root-bundle>] [**--servername**=<servername>] [**--insecure**]",
		ArgsUsage: "<crt-file>",
		Description: `**step certificate inspect** prints the details of a certificate or CSR in a
human readable format. The input is a PEM or DER file ("-" for stdin), an https URL
(https://example.com) or a host:port, whose TLS certificate is fetched.

    $ step certificate inspect ./certificate.crt
    $ step certificate inspect --short ./certificate.crt
    $ step certificate inspect --format json ./certificate.crt
    $ step certificate inspect https://smallstep.com --bundle`,
		Flags: []cli.Flag{
			flags.Bundle("Print all certificates in the order in which they appear in the bundle. If the output format is 'json' the result is a JSON array."),
			flags.Format("text", "The output `format` for printing the introspection details: text (default), json, pem."),
			&cli.BoolFlag{Name: "short", Usage: "Print the certificate or CSR details in shorter and more friendly format."},
			flags.Roots(""),
			flags.ServerName(),
			&cli.BoolFlag{Name: "insecure", Usage: "Use an insecure client to retrieve a remote peer certificate. Useful for debugging invalid certificates remotely."},
		},
		Action: inspectAction,
	}
}

func inspectAction(c *cli.Context) error {
	if err := app.CheckArgs(c, 1, 1); err != nil {
		return err
	}
	format := c.String("format")
	switch format {
	case "text", "json", "pem":
	default:
		return fmt.Errorf("invalid value '%s' for flag '--format'; options are text, json, or pem", format)
	}
	if c.Bool("short") && format != "text" {
		return fmt.Errorf("flag '--short' is only valid with '--format text'")
	}
	in, err := readInspectInput(c, c.Args().First())
	if err != nil {
		return err
	}
	w := c.App.Writer
	if in.csr != nil {
		return printCSR(w, in.csr, format, c.Bool("short"))
	}
	certs := in.certs
	if !c.Bool("bundle") {
		certs = certs[:1]
	}
	switch format {
	case "pem":
		_, err = w.Write(pemutil.EncodeCertificates(certs...))
		return err
	case "json":
		return printCertsJSON(w, certs, c.Bool("bundle"))
	}
	for _, crt := range certs {
		text := certinfo.CertificateText(crt)
		if c.Bool("short") {
			text = certinfo.CertificateShortText(crt)
		}
		if _, err := io.WriteString(w, text); err != nil {
			return err
		}
	}
	return nil
}

// readInspectInput reads a file, or fetches the chain of a remote server.
func readInspectInput(c *cli.Context, ref string) (*input, error) {
	addr, remote, err := remoteAddress(ref)
	if err != nil {
		return nil, err
	}
	if !remote {
		return readCertsOrCSR(ref, true)
	}
	roots, err := loadRoots(c.String("roots"))
	if err != nil {
		return nil, err
	}
	certs, err := fetchPeerCertificates(addr, c.String("servername"), roots, c.Bool("insecure"))
	if err != nil {
		return nil, err
	}
	return &input{certs: certs}, nil
}

// printCertsJSON writes step's JSON (zcrypto's certificate encoding, 2-space
// indent): one object, or an array with --bundle.
func printCertsJSON(w io.Writer, certs []*x509.Certificate, bundle bool) error {
	zs := make([]*zx509.Certificate, len(certs))
	for i, crt := range certs {
		z, err := zx509.ParseCertificate(crt.Raw)
		if err != nil {
			return fmt.Errorf("error parsing certificate %d for JSON output: %w", i+1, err)
		}
		zs[i] = z
	}
	var v any = zs[0]
	if bundle {
		v = zs
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("error marshaling certificate to JSON: %w", err)
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

func printCSR(w io.Writer, csr *x509.CertificateRequest, format string, short bool) error {
	switch format {
	case "pem":
		_, err := w.Write(pemutil.EncodeCSR(csr.Raw))
		return err
	case "json":
		b, err := json.MarshalIndent(csrJSON(csr), "", "  ")
		if err != nil {
			return fmt.Errorf("error marshaling certificate request to JSON: %w", err)
		}
		_, err = w.Write(append(b, '\n'))
		return err
	}
	text := certinfo.CertificateRequestText(csr)
	if short {
		text = certinfo.CertificateRequestShortText(csr)
	}
	_, err := io.WriteString(w, text)
	return err
}
