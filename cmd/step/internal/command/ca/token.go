package ca

import (
	"fmt"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/mayfly-pki/mayfly/cmd/step/internal/app"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/flags"
	"github.com/mayfly-pki/mayfly/internal/fileutil"
	"github.com/mayfly-pki/mayfly/internal/pemutil"
)

func tokenCommand() *cli.Command {
	return &cli.Command{
		Name:      "token",
		Usage:     "generate an OTT granting access to the CA",
		UsageText: "step ca token <subject> [--provisioner <name>] [--provisioner-password-file <file>] [--x5c-cert <file> --x5c-key <file>] [--nebula-cert <file> --nebula-key <file>] [--san <name>] [--revoke] [--not-after <duration>] [--output-file <file>]",
		ArgsUsage: "<subject>",
		Flags: append([]cli.Flag{
			flags.CaURL(), flags.Root(), flags.Context(),
			&cli.StringFlag{Name: "provisioner", Aliases: []string{"issuer"}, Usage: "The provisioner `name` to use."},
			&cli.StringFlag{Name: "kid", Usage: "The provisioner `kid` to use."},
			flags.ProvisionerPasswordFile(),
			flags.PasswordFile("The path to the `file` containing the password to decrypt the one-time token generating key."),
			&cli.StringFlag{Name: "key", Usage: "The private key `file` used to sign the token (instead of the provisioner's encrypted key)."},
			flags.SAN(),
			&cli.StringFlag{Name: "not-before", Usage: "The `time|duration` when the token becomes valid."},
			&cli.StringFlag{Name: "not-after", Usage: "The `time|duration` when the token expires (default 5m, at most 1h)."},
			&cli.StringFlag{Name: "cert-not-before", Usage: "The `time|duration` set in the certificate request (ignored for X.509 tokens)."},
			&cli.StringFlag{Name: "cert-not-after", Usage: "The `time|duration` set in the certificate request (ignored for X.509 tokens)."},
			&cli.BoolFlag{Name: "revoke", Usage: "Create a token for revoking a certificate (subject = serial number)."},
			&cli.BoolFlag{Name: "ssh", Usage: "Create a token for an SSH certificate (or, with --revoke, for revoking one)."},
			&cli.BoolFlag{Name: "host", Usage: "Create a token for an SSH host certificate (with --ssh)."},
			&cli.StringSliceFlag{Name: "principal", Aliases: []string{"n"}, Usage: "Add the `name` to the principals of an SSH certificate (with --ssh); default: the subject."},
			&cli.BoolFlag{Name: "renew", Usage: "Create a renew token: with --sshpop-cert, for POST /ssh/renew (X.509 renew tokens are not supported yet; use `step ca renew --mtls=false`)."},
			&cli.BoolFlag{Name: "rekey", Usage: "Create a rekey token (with --sshpop-cert, for POST /ssh/rekey)."},
			&cli.StringFlag{Name: "sshpop-cert", Usage: "The SSH certificate `file` an SSHPOP token proves possession of (with --renew, --rekey or --revoke)."},
			&cli.StringFlag{Name: "sshpop-key", Usage: "The private key `file` of --sshpop-cert."},
			&cli.StringFlag{Name: "output-file", Usage: "Write the token to `file` instead of stdout."},
		}, append(append(x5cFlags(), nebulaFlags()...), append(k8ssaFlags(), oidcFlags()...)...)...),
		Action: tokenAction,
	}
}

func tokenAction(c *cli.Context) error {
	if err := app.CheckArgs(c, 1, 1); err != nil {
		return err
	}
	if c.String("sshpop-cert") != "" || c.String("sshpop-key") != "" {
		return sshpopTokenAction(c)
	}
	if c.Bool("renew") || c.Bool("rekey") {
		return fmt.Errorf("step ca token: --renew and --rekey need --sshpop-cert and --sshpop-key (X.509 renew tokens are not supported yet)")
	}
	if (c.Bool("host") || len(c.StringSlice("principal")) > 0) && !c.Bool("ssh") {
		return fmt.Errorf("--host and --principal need --ssh")
	}
	sub := c.Args().First()
	now := time.Now()
	nbf, err := flags.ParseTime("not-before", c.String("not-before"), now)
	if err != nil {
		return err
	}
	exp, err := flags.ParseTime("not-after", c.String("not-after"), now)
	if err != nil {
		return err
	}
	req := tokenRequest{subject: sub, path: "/1.0/sign", notBef: nbf, user: map[string]any{}}
	if !exp.IsZero() {
		start := now
		if !nbf.IsZero() {
			start = nbf
		}
		req.validity = exp.Sub(start)
		if req.validity < 10*time.Second || req.validity > time.Hour {
			return fmt.Errorf("token validity must be between 10s and 1h")
		}
	}
	if !nbf.IsZero() && nbf.Sub(now) > 30*time.Minute {
		return fmt.Errorf("--not-before cannot be more than 30m in the future")
	}
	switch {
	case c.Bool("revoke") && c.Bool("ssh"):
		req.path, req.user = "/1.0/ssh/revoke", nil
	case c.Bool("revoke"):
		req.path, req.user = "/1.0/revoke", nil
		serial, err := normalizeSerial(sub)
		if err != nil {
			return err
		}
		req.subject = serial
	case c.Bool("ssh"):
		o, err := sshTokenOptions(c, sub, c.Bool("host"), c.StringSlice("principal"), time.Now())
		if err != nil {
			return err
		}
		req.path, req.ssh = "/1.0/ssh/sign", o
	default:
		req.sans = c.StringSlice("san")
		if len(req.sans) == 0 {
			req.sans = []string{sub}
		}
	}
	cl, roots, err := newClient(c)
	if err != nil {
		return err
	}
	tok, err := mintToken(c, cl, pemutil.Fingerprint(roots[0]), req, true)
	if err != nil {
		return err
	}
	if out := c.String("output-file"); out != "" {
		return fileutil.WriteFile(out, []byte(tok+"\n"), 0o600)
	}
	_, err = fmt.Fprintln(os.Stdout, tok)
	return err
}
