package ca

import (
	"fmt"
	"math/big"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/mayfly-pki/mayfly/api/wire"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/app"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/flags"
	"github.com/mayfly-pki/mayfly/internal/pemutil"
)

func revokeCommand() *cli.Command {
	return &cli.Command{
		Name:      "revoke",
		Usage:     "revoke a certificate",
		UsageText: "step ca revoke <serial> [--token <token>] [--reason <string>] [--reasonCode <code>]\nstep ca revoke <serial> --x5c-cert <file> --x5c-key <file> [--reason <string>] [--reasonCode <code>]\nstep ca revoke --cert <crt-file> --key <key-file> [--reason <string>] [--reasonCode <code>]",
		ArgsUsage: "[<serial>]",
		Flags: append([]cli.Flag{
			flags.CaURL(), flags.Root(), flags.Context(), flags.Token(),
			&cli.StringFlag{Name: "cert", Usage: "The certificate `file` to revoke over mTLS."},
			&cli.StringFlag{Name: "key", Usage: "The private key `file` of --cert."},
			&cli.StringFlag{Name: "reason", Usage: "The `string` explaining the revocation."},
			&cli.StringFlag{Name: "reasonCode", Usage: "The RFC 5280 reason `code` (0-10) or name (e.g. KeyCompromise)."},
			&cli.StringFlag{Name: "provisioner", Hidden: true, Usage: "provisioner `name`"},
			&cli.StringFlag{Name: "kid", Hidden: true, Usage: "provisioner `kid`"},
			flags.ProvisionerPasswordFile(),
			flags.PasswordFile("The path to the `file` with the password of the provisioner key, or of --key."),
			flags.Offline(),
		}, append(append(x5cFlags(), nebulaFlags()...), oidcFlags()...)...),
		Action: revokeAction,
	}
}

var reasonCodes = map[string]int{
	"unspecified": 0, "keycompromise": 1, "cacompromise": 2, "affiliationchanged": 3,
	"superseded": 4, "cessationofoperation": 5, "certificatehold": 6, "removefromcrl": 8,
	"privilegewithdrawn": 9, "aacompromise": 10,
}

func parseReasonCode(s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	if n, ok := reasonCodes[strings.ToLower(s)]; ok {
		return n, nil
	}
	var n int
	if _, err := fmt.Sscanf(s, "%d", &n); err != nil || n < 0 || n > 10 || n == 7 {
		return 0, fmt.Errorf("invalid value '%s' for flag '--reasonCode': use 0-10 (not 7) or a name such as KeyCompromise", s)
	}
	return n, nil
}

// normalizeSerial reads 0x-hex, 0-octal or decimal serials into decimal.
func normalizeSerial(s string) (string, error) {
	n, ok := new(big.Int).SetString(s, 0)
	if !ok || n.Sign() < 0 {
		return "", fmt.Errorf("'%s' is not a valid serial number - use a base 10 representation or a base 16 representation with '0x' prefix", s)
	}
	return n.String(), nil
}

func revokeAction(c *cli.Context) error {
	if err := app.CheckArgs(c, 0, 1); err != nil {
		return err
	}
	code, err := parseReasonCode(c.String("reasonCode"))
	if err != nil {
		return err
	}
	serial := c.Args().First()
	cl, roots, err := newClient(c)
	if err != nil {
		return err
	}
	req := &wire.RevokeRequest{ReasonCode: code, Reason: c.String("reason"), Passive: true}
	ctx, cancel := timeoutCtx(c)
	defer cancel()
	if crt := c.String("cert"); crt != "" {
		if c.String("key") == "" {
			return fmt.Errorf("flag '--cert' requires the '--key' flag")
		}
		id, err := readIdentity(c, crt, c.String("key"))
		if err != nil {
			return err
		}
		req.Serial = id.leaf().SerialNumber.String()
		if serial != "" {
			if s, err := normalizeSerial(serial); err != nil || s != req.Serial {
				return fmt.Errorf("serial number %s does not match the certificate %s", serial, crt)
			}
		}
		if err := cl.Revoke(ctx, req, id.tlsCertificate()); err != nil {
			return err
		}
		fmt.Printf("Certificate with Serial Number %s has been revoked.\n", req.Serial)
		return nil
	}
	if serial == "" {
		return fmt.Errorf("not enough positional arguments were provided in 'step ca revoke <serial>'")
	}
	if req.Serial, err = normalizeSerial(serial); err != nil {
		return err
	}
	req.OTT = c.String("token")
	if req.OTT == "" {
		if req.OTT, err = mintToken(c, cl, pemutil.Fingerprint(roots[0]), tokenRequest{subject: req.Serial, path: "/1.0/revoke"}, true); err != nil {
			return err
		}
	}
	if err := cl.Revoke(ctx, req, nil); err != nil {
		return err
	}

	fmt.Printf("Certificate with Serial Number %s has been revoked.\n", req.Serial)
	return nil
}
