package ssh

import (
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/mayfly-pki/mayfly/api/wire"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/app"
	caCmd "github.com/mayfly-pki/mayfly/cmd/step/internal/command/ca"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/flags"
	"github.com/mayfly-pki/mayfly/ssh"
)

func checkHostCommand() *cli.Command {
	return &cli.Command{
		Name:      "check-host",
		Usage:     "checks if a certificate has been issued for a host",
		UsageText: "step ssh check-host <hostname> [--verbose]\n\nExits 0 when the CA issued a host certificate for <hostname>, 1 otherwise (for ssh_config's Match exec).",
		ArgsUsage: "<hostname>",
		Flags: []cli.Flag{
			flags.CaURL(), flags.Root(), flags.Context(), flags.Offline(),
			&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "Print true or false."},
		},
		Action: func(c *cli.Context) error {
			if err := app.CheckArgs(c, 1, 1); err != nil {
				return err
			}
			cl, _, err := caCmd.NewClient(c)
			if err != nil {
				return err
			}
			ctx, cancel := timeoutCtx(c)
			defer cancel()
			ok, err := cl.SSHCheckHost(ctx, &wire.SSHCheckHostRequest{Type: ssh.HostCert, Principal: c.Args().First()})
			if err != nil {
				return err
			}
			if c.Bool("verbose") {
				fmt.Fprintln(os.Stdout, ok)
			}
			if !ok {
				return cli.Exit("", 1)
			}
			return nil
		},
	}
}

func hostsCommand() *cli.Command {
	return &cli.Command{
		Name:      "hosts",
		Usage:     "returns a list of all valid hosts",
		UsageText: "step ssh hosts",
		Flags: []cli.Flag{
			flags.CaURL(), flags.Root(), flags.Context(), flags.Offline(),
			&cli.StringSliceFlag{Name: "set", Usage: "Accepted for compatibility (`key=value`)."},
		},
		Action: func(c *cli.Context) error {
			if err := app.CheckArgs(c, 0, 0); err != nil {
				return err
			}
			cl, _, err := caCmd.NewClient(c)
			if err != nil {
				return err
			}
			ctx, cancel := timeoutCtx(c)
			defer cancel()
			r, err := cl.SSHHosts(ctx)
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(os.Stdout, 0, 8, 1, '\t', 0)
			fmt.Fprintln(w, "HOSTNAME\t\tID\tTAGS")
			for _, h := range r.Hosts {
				fmt.Fprintf(w, "%s\t\t%s\t%s\n", h.Hostname, h.HostID, strings.Join(h.HostTags, ","))
			}
			return w.Flush()
		},
	}
}

func needsRenewalCommand() *cli.Command {
	return &cli.Command{
		Name:      "needs-renewal",
		Usage:     "check if an SSH certificate needs to be renewed",
		UsageText: "step ssh needs-renewal <crt-file> [--expires-in <percent|duration>] [--verbose]\n\nExits 0 when the certificate needs renewal, 1 when it does not, 2 on errors.",
		ArgsUsage: "<crt-file>",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "expires-in", Value: "66%", Usage: "Renew when this `percent` of the lifetime has passed, or when less than this `duration` is left."},
			&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "Print the verdict."},
		},
		Action: func(c *cli.Context) error {
			if err := app.CheckArgs(c, 1, 1); err != nil {
				return cli.Exit(err.Error(), 2)
			}
			cert, err := readCertificate(c.Args().First())
			if err != nil {
				return cli.Exit(err.Error(), 2)
			}
			va, vb := ssh.Time(cert.ValidAfter), ssh.Time(cert.ValidBefore)
			now := time.Now()
			var renewAt time.Time
			if e := c.String("expires-in"); strings.HasSuffix(e, "%") {
				var pct float64
				if _, err := fmt.Sscanf(strings.TrimSuffix(e, "%"), "%g", &pct); err != nil || pct < 0 || pct > 100 {
					return cli.Exit(fmt.Sprintf("invalid value '%s' for flag '--expires-in'", e), 2)
				}
				renewAt = va.Add(time.Duration(float64(vb.Sub(va)) * pct / 100))
			} else {
				d, err := time.ParseDuration(e)
				if err != nil {
					return cli.Exit(fmt.Sprintf("invalid value '%s' for flag '--expires-in'", e), 2)
				}
				renewAt = vb.Add(-d)
			}
			if now.Before(renewAt) {
				if c.Bool("verbose") {
					fmt.Fprintln(os.Stdout, "certificate does not need renewal")
				}
				return cli.Exit("", 1)
			}
			if c.Bool("verbose") {
				fmt.Fprintln(os.Stdout, "certificate needs renewal")
			}
			return nil
		},
	}
}

func proxyCommand() *cli.Command {
	fs := append([]cli.Flag{flags.CaURL(), flags.Root(), flags.Context(), flags.Offline()}, caCmd.TokenFlags()...)
	return &cli.Command{
		Name:  "proxycommand",
		Usage: "proxy ssh connections according to the host registry",
		UsageText: `step ssh proxycommand <user> <host> <port>

ssh's ProxyCommand (written by step ssh config): it connects to <host>:<port>,
through the CA's bastion (ssh -W) when one is configured, and relays
standard input and output.`,
		ArgsUsage: "<user> <host> <port>",
		Flags:     fs,
		Action:    proxyAction,
	}
}

func proxyAction(c *cli.Context) error {
	if err := app.CheckArgs(c, 3, 3); err != nil {
		return err
	}
	user, host, port := c.Args().Get(0), c.Args().Get(1), c.Args().Get(2)
	cl, _, err := caCmd.NewClient(c)
	if err != nil {
		return err
	}
	ctx, cancel := timeoutCtx(c)
	b, err := cl.SSHBastion(ctx, &wire.SSHBastionRequest{User: user, Hostname: host})
	cancel()
	if err != nil {
		return err
	}
	if b.Bastion != nil && b.Bastion.Hostname != "" {
		return runBastion(b.Bastion, host, port)
	}
	conn, err := net.DialTimeout("tcp", net.JoinHostPort(host, port), 30*time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	done := make(chan error, 2)
	go func() { _, err := io.Copy(conn, os.Stdin); done <- err }()
	go func() { _, err := io.Copy(os.Stdout, conn); done <- err }()
	return <-done
}
