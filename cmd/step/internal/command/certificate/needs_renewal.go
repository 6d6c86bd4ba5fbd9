package certificate

import (
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/mayfly-pki/mayfly/cmd/step/internal/app"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/flags"
)

// defaultPercentUsed is the share of the lifetime after which a certificate
// needs renewal when --expires-in is not given.
const defaultPercentUsed = 66

func needsRenewalCommand() *cli.Command {
	return &cli.Command{
		Name:      "needs-renewal",
		Usage:     "check if a certificate needs to be renewed",
		UsageText: "**step certificate needs-renewal** <cert-file or hostname> [**--expires-in**=<percent|duration>] [**--roots**=<root-bundle>] [**--servername**=<servername>]",
		ArgsUsage: "<cert-file or hostname>",
		Description: `**step certificate needs-renewal** checks every certificate of the file (or
of the remote server's chain): a certificate needs renewal when it has used at
least --expires-in percent of its lifetime (default 66%), or, for a duration,
when it expires within that duration.

## EXIT CODES

0 if the certificate needs renewal, 1 if it does not, 2 if the certificate file
does not exist, and 255 for any other error.

    $ step certificate needs-renewal ./certificate.crt
    $ step certificate needs-renewal ./certificate.crt --expires-in 1h15m
    $ step certificate needs-renewal https://smallstep.com --expires-in 75%`,
		Flags: []cli.Flag{
			flags.ExpiresIn("Check if the certificate expires within the given time window, a `percent|duration`: a percentage of the lifetime followed by '%' (e.g. 75%), or a duration (e.g. 1h15m)."),
			flags.Roots(""),
			flags.ServerName(),
		},
		Action: func(c *cli.Context) error {
			needs, err := needsRenewal(c, time.Now())
			switch {
			case errors.Is(err, os.ErrNotExist):
				return cli.Exit(err.Error(), 2)
			case err != nil:
				return cli.Exit(err.Error(), 255)
			case !needs:
				return cli.Exit("certificate does not need renewal", 1)
			}
			return nil
		},
	}
}

func needsRenewal(c *cli.Context, now time.Time) (bool, error) {
	if err := app.CheckArgs(c, 1, 1); err != nil {
		return false, err
	}
	percent, window, isPercent, err := parseExpiresIn(c.String("expires-in"))
	if err != nil {
		return false, err
	}
	ref := c.Args().First()
	var certs []*x509.Certificate
	addr, remote, err := remoteAddress(ref)
	switch {
	case err != nil:
		return false, err
	case remote:
		roots, err := loadRoots(c.String("roots"))
		if err != nil {
			return false, err
		}
		if certs, err = fetchPeerCertificates(addr, c.String("servername"), roots, false); err != nil {
			return false, err
		}
	default:
		if _, err := os.Stat(ref); err != nil {
			var pe *os.PathError
			if errors.As(err, &pe) {
				return false, fmt.Errorf("open %s: %w", ref, pe.Err)
			}
			return false, err
		}
		if certs, err = readCerts(ref); err != nil {
			return false, err
		}
	}
	for _, crt := range certs {
		remaining := crt.NotAfter.Sub(now)
		if isPercent {
			total := crt.NotAfter.Sub(crt.NotBefore)
			if total <= 0 {
				return true, nil
			}
			used := (1 - remaining.Minutes()/total.Minutes()) * 100
			if int(used) >= percent {
				return true, nil
			}
		} else if window >= remaining {
			return true, nil
		}
	}
	return false, nil
}

// parseExpiresIn reads --expires-in: "" (66%), "<n>%" (0-100) or a duration.
func parseExpiresIn(v string) (int, time.Duration, bool, error) {
	if v == "" {
		return defaultPercentUsed, 0, true, nil
	}
	if strings.HasSuffix(v, "%") {
		p, err := strconv.Atoi(strings.TrimSuffix(v, "%"))
		if err != nil || p < 0 || p > 100 {
			return 0, 0, false, fmt.Errorf("invalid value '%s' for flag '--expires-in'; value must be in range 0-100%%", v)
		}
		return p, 0, true, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, 0, false, fmt.Errorf("invalid value '%s' for flag '--expires-in'; use a duration (1h15m) or a percentage (75%%)", v)
	}
	return 0, d, false, nil
}
