// Command step-ca is Mayfly's certificate authority daemon, a drop-in
// replacement for Smallstep's step-ca.
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/mayfly-pki/mayfly/authority/config"
	"github.com/mayfly-pki/mayfly/internal/fileutil"
	"github.com/mayfly-pki/mayfly/internal/steppath"
	"github.com/mayfly-pki/mayfly/internal/version"
	"github.com/mayfly-pki/mayfly/kms"
)

// No soft memory limit is set by default (GOMEMLIMIT still works). A
// 128 MiB default kept the resident set under 200 MB after 100,000
// certificates, but Badger's live heap grows with the database (its table
// builders' allocators held 144 MiB in one heap profile; 450-700 MB were live
// during compactions at 500,000 records), and a limit below the live heap makes the
// collector run continuously: throughput fell to 300-500 certificates/s at
// 3-6 ms of CPU each after restarts. Operators who want a bound set
// GOMEMLIMIT above their database's working set.
func main() {
	restrictUmask()
	if isAuditCommand(os.Args) {
		if err := runAudit(os.Args[1:], os.Stdout, os.Stderr); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	if isDBCommand(os.Args) {
		if err := runDB(os.Args[1:], os.Stdout, os.Stderr); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	app := &cli.App{
		Name:      "step-ca",
		Usage:     "an online certificate authority (Mayfly)",
		UsageText: "step-ca [config-file] [--password-file FILE] [--validate-config]\n   step-ca db import --from <type>:<dataSource> [--to ca.json]\n   step-ca db repair [--to ca.json] [--drop-damaged]\n   step-ca audit verify FILE",
		Version:   version.Version,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "password-file", Usage: "`FILE` with the password that decrypts the intermediate key"},
			&cli.StringFlag{Name: "ssh-host-password-file", Usage: "`FILE` with the password of the SSH host CA key"},
			&cli.StringFlag{Name: "ssh-user-password-file", Usage: "`FILE` with the password of the SSH user CA key"},
			&cli.StringFlag{Name: "issuer-password-file", Usage: "`FILE` with the password of the StepCAS issuer key"},
			&cli.StringFlag{Name: "resolver", Usage: "DNS resolver `ADDRESS` (host:port) used instead of the system's"},
			&cli.StringFlag{Name: "token", EnvVars: []string{"STEP_CA_TOKEN"}, Usage: "linked CA token (not supported)"},
			&cli.BoolFlag{Name: "quiet", EnvVars: []string{"STEP_CA_QUIET"}, Usage: "do not print the start-up banner"},
			&cli.StringFlag{Name: "context", EnvVars: []string{"STEP_CA_CONTEXT"}, Usage: "the step context `NAME` whose configuration to use"},
			&cli.StringFlag{Name: "pidfile", Usage: "write the process id to `FILE`"},
			&cli.BoolFlag{Name: "validate-config", Usage: "check the configuration and the files it names, report every problem (including unknown keys) and exit"},
			&cli.BoolFlag{Name: "read-only", EnvVars: []string{"STEP_CA_READ_ONLY"}, Usage: "open the mysql or postgresql database read-only, as a hot standby: no DDL, no writes (as db.readOnly in ca.json)"},
			&cli.StringFlag{Name: "pprof", EnvVars: []string{"STEP_CA_PPROF"}, Usage: "serve Go's pprof profiles on this loopback `ADDRESS` (e.g. 127.0.0.1:6060)"},
		},
		Action:          run,
		HideHelpCommand: true,
	}
	if err := app.Run(reorderArgs(os.Args)); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// reorderArgs moves flags before the config path, so `step-ca ca.json
// --password-file pw` works as with step-ca.
func reorderArgs(args []string) []string {
	if len(args) < 2 {
		return args
	}
	var flags, pos []string
	valued := map[string]bool{"password-file": true, "pprof": true, "ssh-host-password-file": true, "ssh-user-password-file": true,
		"issuer-password-file": true, "resolver": true, "token": true, "context": true, "pidfile": true}
	for i := 1; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if len(a) > 1 && a[0] == '-' {
			flags = append(flags, a)
			name := trimDashes(a)
			if valued[name] && i+1 < len(args) {
				flags = append(flags, args[i+1])
				i++
			}
			continue
		}
		pos = append(pos, a)
	}
	return append(append([]string{args[0]}, flags...), pos...)
}

func trimDashes(s string) string {
	for len(s) > 0 && s[0] == '-' {
		s = s[1:]
	}
	for i := 0; i < len(s); i++ {
		if s[i] == '=' {
			return ""
		}
	}
	return s
}

func configPath(c *cli.Context) (string, error) {
	switch c.NArg() {
	case 0:
	case 1:
		return c.Args().First(), nil
	default:
		return "", fmt.Errorf("too many arguments: step-ca takes at most one configuration file")
	}
	if name := c.String("context"); name != "" {
		if err := steppath.UseContext(name); err != nil {
			return "", err
		}
	}
	p, err := steppath.Path()
	if err != nil {
		return "", err
	}
	return filepath.Join(p, "config", "ca.json"), nil
}

func run(c *cli.Context) error {
	start := time.Now()
	path, err := configPath(c)
	if err != nil {
		return err
	}
	if _, err := os.Stat(path); err != nil {
		return cli.Exit(fmt.Sprintf("step-ca can't find or open the configuration file for your CA.\n"+
			"You may need to create a CA first by running `step ca init`.\n"+
			"Configuration file: %s", path), 1)
	}
	if c.Bool("validate-config") {
		return validateConfig(c, path)
	}
	cfg, err := config.Load(path)
	if err != nil {
		return err
	}
	if c.Bool("read-only") {
		if cfg.DB == nil {
			return errors.New("--read-only: ca.json has no db block; a hot standby needs the primary's mysql or postgresql database")
		}
		cfg.DB.ReadOnly = true
	}
	if c.String("token") != "" || (cfg.Authority != nil && cfg.Authority.DeploymentType == "linked") {
		return errors.New("linked deployments are not supported")
	}
	if addr := c.String("resolver"); addr != "" {
		if err := useResolver(addr); err != nil {
			return err
		}
	}
	if addr := c.String("pprof"); addr != "" {
		if err := servePprof(addr); err != nil {
			return err
		}
	}
	// A key held by a key manager needs no password: none is asked for.
	var password []byte
	if err := applyIssuerPassword(cfg, c.String("issuer-password-file")); err != nil {
		return err
	}
	// A registration authority has no intermediate key (the upstream signs).
	if (!isRA(cfg) && !kms.InKeyManager(kmsOptions(cfg.KMS), cfg.IntermediateKey)) || c.String("password-file") != "" {
		if password, err = readPassword(c.String("password-file"), cfg.Password); err != nil {
			return err
		}
	}
	d, err := newDaemon(path, cfg, password, start, c.Bool("quiet"))
	if err != nil {
		return err
	}
	if pf := c.String("pidfile"); pf != "" {
		if err := fileutil.WriteFile(pf, []byte(fmt.Sprintf("%d\n", os.Getpid())), 0o644); err != nil {
			d.close()
			return fmt.Errorf("pidfile: %w", err)
		}
		defer os.Remove(pf)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				d.reload()
			}
		}
	}()
	return d.run(ctx)
}

// validateConfig is --validate-config: every problem of the configuration
// and of the files it names, in one report (see config.Check). The key
// passwords are used only when given as files.
func validateConfig(c *cli.Context, path string) error {
	var opts config.CheckOptions
	for _, f := range []struct {
		flag string
		dst  *[]byte
	}{
		{"password-file", &opts.Password},
		{"ssh-host-password-file", &opts.SSHHostPassword},
		{"ssh-user-password-file", &opts.SSHUserPassword},
	} {
		if name := c.String(f.flag); name != "" {
			pw, err := fileutil.ReadPasswordFile(name)
			if err != nil {
				return fmt.Errorf("--%s: %w", f.flag, err)
			}
			*f.dst = pw
		}
	}
	if err := config.Check(path, opts); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "%s is valid\n", path)
	return nil
}

// readPassword reads the intermediate key password from a file, ca.json's
// "password", or the terminal.
func readPassword(file, fromConfig string) ([]byte, error) {
	switch {
	case file != "":
		return fileutil.ReadPasswordFile(file)
	case fromConfig != "":
		return []byte(fromConfig), nil
	case term.IsTerminal(int(os.Stdin.Fd())):
		fmt.Fprint(os.Stderr, "Please enter the password to decrypt the intermediate key: ")
		b, err := term.ReadPassword(int(os.Stdin.Fd()))
		fmt.Fprintln(os.Stderr)
		return b, err
	}
	return nil, nil
}

var stdLog = log.New(os.Stderr, "", log.LstdFlags)

// useResolver makes every DNS lookup of the process go to addr, with the
// pure-Go resolver, as step-ca's --resolver does.
func useResolver(addr string) error {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		addr = net.JoinHostPort(addr, "53")
	}
	var d net.Dialer
	net.DefaultResolver = &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		},
	}
	return nil
}
