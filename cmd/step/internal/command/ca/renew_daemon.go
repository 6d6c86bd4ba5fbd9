package ca

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"
)

// daemonFlags are the flags of `step ca renew|rekey --daemon` (wire-spec §9).
func daemonFlags(periodName string) []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "daemon", Usage: "Run as a daemon, renewing the certificate at 2/3 of its lifetime (or as --expires-in/--" + periodName + " say)."},
		&cli.StringFlag{Name: periodName, Usage: "With --daemon, renew every `duration` instead of by expiry."},
		&cli.StringFlag{Name: "exec", Usage: "The `command` to run after each renewal (split on spaces, no shell)."},
		&cli.IntFlag{Name: "pid", Usage: "The process `id` to signal after each renewal."},
		&cli.StringFlag{Name: "pid-file", Usage: "The `file` holding the process id to signal after each renewal."},
		&cli.IntFlag{Name: "signal", Value: int(syscall.SIGHUP), Usage: "The signal `number` sent to --pid/--pid-file (default 1, SIGHUP)."},
	}
}

// daemonOptions are the checked daemon settings.
type daemonOptions struct {
	expiresIn time.Duration // 0: period/3
	period    time.Duration // --renew-period/--rekey-period; 0: by expiry
	exec      []string
	pid       int
	pidFile   string
	signal    syscall.Signal
}

// checkDaemonFlags applies step's flag rules: --expires-in and the period
// exclude each other, the period needs --daemon, --pid and --pid-file exclude
// each other, and durations must be shorter than the certificate's lifetime.
func checkDaemonFlags(c *cli.Context, periodName string, leaf *x509.Certificate) (*daemonOptions, error) {
	o := &daemonOptions{pid: c.Int("pid"), pidFile: c.String("pid-file"), signal: syscall.Signal(c.Int("signal"))}
	life := leaf.NotAfter.Sub(leaf.NotBefore)
	if c.String("expires-in") != "" && c.String(periodName) != "" {
		return nil, fmt.Errorf("flag '--expires-in' and flag '--%s' are mutually exclusive", periodName)
	}
	if c.String(periodName) != "" && !c.Bool("daemon") {
		return nil, fmt.Errorf("flag '--%s' requires the '--daemon' flag", periodName)
	}
	if c.IsSet("pid") && o.pidFile != "" {
		return nil, errors.New("flag '--pid' and flag '--pid-file' are mutually exclusive")
	}
	if c.IsSet("pid") && o.pid <= 0 {
		return nil, fmt.Errorf("flag '--pid' must be greater than 0")
	}
	if o.signal <= 0 {
		return nil, fmt.Errorf("flag '--signal' must be greater than 0")
	}
	if s := c.String("expires-in"); s != "" {
		d, err := parseExpiresIn(s, leaf)
		if err != nil {
			return nil, err
		}
		if d >= life {
			return nil, fmt.Errorf("flag '--expires-in' must be less than the certificate's lifetime (%s)", life)
		}
		o.expiresIn = d
	}
	if s := c.String(periodName); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("invalid value '%s' for flag '--%s'", s, periodName)
		}
		if d >= life {
			return nil, fmt.Errorf("flag '--%s' must be less than the certificate's lifetime (%s)", periodName, life)
		}
		o.period = d
	}
	if s := strings.TrimSpace(c.String("exec")); s != "" {
		o.exec = strings.Split(s, " ")
	}
	return o, nil
}

// nextRenewDuration is step's schedule (wire-spec §9): with a period, the
// period (0 when the certificate expires first); else renew when
// expiresIn (default a third of the lifetime) remains, with jitter of up to
// 1/20 of the lifetime.
func nextRenewDuration(leaf *x509.Certificate, o *daemonOptions, now time.Time, rnd func(int64) int64) time.Duration {
	until := leaf.NotAfter.Sub(now)
	if o.period > 0 {
		if until < o.period {
			return 0
		}
		return o.period
	}
	period := leaf.NotAfter.Sub(leaf.NotBefore)
	expiresIn := o.expiresIn
	if expiresIn == 0 {
		expiresIn = period / 3
	}
	d := until - expiresIn
	switch {
	case d <= 0:
		return 0
	case d < period/20:
		return time.Duration(rnd(int64(d)))
	default:
		return d - time.Duration(rnd(int64(period/20)))
	}
}

// renewer renews once and returns the new leaf; it writes the files.
type renewer func(ctx context.Context) (*x509.Certificate, error)

// daemon runs the renewal loop until SIGINT/SIGTERM. Renewal errors are
// logged and retried after a minute; it never exits on them. SIGHUP renews now.
type daemon struct {
	opts    *daemonOptions
	renew   renewer
	info    *log.Logger
	errLog  *log.Logger
	now     func() time.Time
	rnd     func(int64) int64
	retry   time.Duration
	maxNap  time.Duration
	signals <-chan os.Signal
}

func newDaemon(o *daemonOptions, r renewer, stdout, stderr io.Writer) *daemon {
	return &daemon{
		opts: o, renew: r,
		info:   log.New(stdout, "INFO: ", log.LstdFlags),
		errLog: log.New(stderr, "ERROR: ", log.LstdFlags),
		now:    time.Now, rnd: rand.Int64N, retry: time.Minute, maxNap: 30 * time.Second,
	}
}

// wallNow strips the monotonic reading, so that waiting is measured against
// the wall clock and a suspend or clock jump is noticed.
func (d *daemon) wallNow() time.Time { return d.now().Round(0) }

// run renews leaf's certificate forever; it returns nil on SIGINT/SIGTERM.
func (d *daemon) run(ctx context.Context, leaf *x509.Certificate) error {
	sigs := d.signals
	if sigs == nil {
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM)
		defer signal.Stop(ch)
		sigs = ch
	}
	wait := nextRenewDuration(leaf, d.opts, d.now(), d.rnd)
	d.info.Printf("first renewal in %s", wait.Round(time.Second))
	deadline := d.wallNow().Add(wait)
	for {
		nap := min(max(deadline.Sub(d.wallNow()), 0), d.maxNap)
		timer := time.NewTimer(nap)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case s := <-sigs:
			timer.Stop()
			if s != syscall.SIGHUP {
				return nil
			}
			deadline = d.wallNow()
		case <-timer.C:
		}
		if d.wallNow().Before(deadline) {
			continue
		}
		newLeaf, err := d.renew(ctx)
		if err != nil {
			d.errLog.Print(oneLine(err))
			deadline = d.wallNow().Add(d.retry)
			continue
		}
		leaf = newLeaf
		wait = nextRenewDuration(leaf, d.opts, d.now(), d.rnd)
		d.info.Printf("%s certificate renewed, next in %s", leaf.Subject.CommonName, wait.Round(time.Second))
		deadline = d.wallNow().Add(wait)
		d.afterRenewal()
	}
}

// afterRenewal signals --pid/--pid-file, then runs --exec; failures are logged.
func (d *daemon) afterRenewal() {
	pid := d.opts.pid
	if d.opts.pidFile != "" {
		b, err := os.ReadFile(d.opts.pidFile)
		if err != nil {
			d.errLog.Printf("error reading pid file: %v", err)
		} else if pid, err = strconv.Atoi(strings.TrimSpace(string(b))); err != nil || pid <= 0 {
			d.errLog.Printf("error reading pid file %s: it does not hold a process id", d.opts.pidFile)
			pid = 0
		}
	}
	if pid > 0 {
		if err := syscall.Kill(pid, d.opts.signal); err != nil {
			d.errLog.Printf("error sending signal %d to process %d: %v", d.opts.signal, pid, err)
		}
	}
	if len(d.opts.exec) > 0 {
		cmd := exec.Command(d.opts.exec[0], d.opts.exec[1:]...)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			d.errLog.Printf("error running %q: %v", strings.Join(d.opts.exec, " "), err)
		}
	}
}

func oneLine(err error) string { return strings.ReplaceAll(err.Error(), "\n", " ") }

// afterRenewalOnce runs the --pid/--exec hooks after a one-shot renewal.
func (o *daemonOptions) afterRenewalOnce() {
	if o.pid > 0 || o.pidFile != "" || len(o.exec) > 0 {
		newDaemon(o, nil, os.Stdout, os.Stderr).afterRenewal()
	}
}
