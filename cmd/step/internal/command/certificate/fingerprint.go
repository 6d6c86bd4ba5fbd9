package certificate

import (
	"crypto/sha1" //nolint:gosec // only with --sha1 --insecure, as step
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/mayfly-pki/mayfly/cmd/step/internal/app"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/flags"
)

func fingerprintCommand() *cli.Command {
	return &cli.Command{
		Name:      "fingerprint",
		Usage:     "print the fingerprint of a certificate",
		UsageText: "**step certificate fingerprint** <crt-file|hostname> [**--bundle**] [**--roots**=<root-bundle>] [**--servername**=<servername>] [**--format**=<format>] [**--sha1**] [**--insecure**]",
		ArgsUsage: "<crt-file>",
		Description: `**step certificate fingerprint** prints the SHA-256 fingerprint of the
certificate (of its DER), lower-case hex by default.

    $ step certificate fingerprint ./certificate.crt
    $ step certificate fingerprint https://smallstep.com --bundle
    $ step certificate fingerprint --format base64-url ./certificate.crt
    $ step certificate fingerprint --format emoji ./certificate.crt`,
		Flags: []cli.Flag{
			flags.Bundle("Print all the fingerprints of the certificates in the bundle, one a line."),
			flags.Roots(""),
			flags.ServerName(),
			flags.Format("hex", "The `format` of the fingerprint: hex (default), base64, base64-url, base64-raw, base64-url-raw, or emoji (emojisum, one emoji a byte)."),
			&cli.BoolFlag{Name: "sha1", Usage: "Use the SHA-1 hash algorithm (requires --insecure)."},
			&cli.BoolFlag{Name: "insecure", Usage: "Use an insecure client to retrieve a remote peer certificate; allow --sha1."},
		},
		Action: fingerprintAction,
	}
}

func fingerprintAction(c *cli.Context) error {
	if err := app.CheckArgs(c, 1, 1); err != nil {
		return err
	}
	if c.Bool("sha1") && !c.Bool("insecure") {
		return fmt.Errorf("flag '--sha1' requires the '--insecure' flag")
	}
	encode, err := fingerprintEncoder(c.String("format"))
	if err != nil {
		return err
	}
	in, err := readInspectInput(c, c.Args().First())
	if err != nil {
		return err
	}
	var ders [][]byte
	if in.csr != nil {
		ders = append(ders, in.csr.Raw)
	} else {
		for _, crt := range in.certs {
			ders = append(ders, crt.Raw)
		}
		if !c.Bool("bundle") {
			ders = ders[:1]
		}
	}
	for _, der := range ders {
		var sum []byte
		if c.Bool("sha1") {
			s := sha1.Sum(der) //nolint:gosec // explicitly requested
			sum = s[:]
		} else {
			s := sha256.Sum256(der)
			sum = s[:]
		}
		if _, err := fmt.Fprintln(c.App.Writer, encode(sum)); err != nil {
			return err
		}
	}
	return nil
}

// fingerprintEncoder returns the encoder for a --format value.
func fingerprintEncoder(format string) (func([]byte) string, error) {
	// Like step, the value is case-insensitive and surrounding spaces are ignored.
	switch strings.ToLower(strings.TrimSpace(format)) {
	case "", "hex":
		return hex.EncodeToString, nil
	case "base64":
		return base64.StdEncoding.EncodeToString, nil
	case "base64-url", "base64url":
		return base64.URLEncoding.EncodeToString, nil
	case "base64-raw", "base64raw":
		return base64.RawStdEncoding.EncodeToString, nil
	case "base64-url-raw", "base64url-raw", "base64urlraw":
		return base64.RawURLEncoding.EncodeToString, nil
	case "emoji", "emojisum":
		return emojiEncode, nil
	}
	return nil, fmt.Errorf("invalid value '%s' for flag '--format'; options are hex, base64, base64-url, base64-raw, base64-url-raw, or emoji", format)
}
