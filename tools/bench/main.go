// Command bench measures a Mayfly (or any step-ca compatible) CA under load.
//
//	bench [flags]        the suite behind `make bench`: a fresh CA from
//	                     `step ca init` defaults, sign, renew and mixed runs
//	bench load [flags]   one run against a CA that is already running
//
// Both print a compact table, or JSON with --json. Exit status: 0 when every
// request succeeded, 1 when some failed, 2 when the runs could not be set up.
// See README.md for what is measured and how.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is main without the process: it returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var rep *Report
	var jsonOut bool
	var err error
	if len(args) > 0 && args[0] == "load" {
		rep, jsonOut, err = loadCommand(ctx, args[1:], stderr)
	} else if len(args) > 0 && args[0] == "acme" {
		rep, jsonOut, err = acmeCommand(ctx, args[1:], stderr)
	} else {
		rep, jsonOut, err = suiteCommand(ctx, args, stderr)
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 2
	}
	if jsonOut {
		if err := writeJSON(stdout, rep); err != nil {
			fmt.Fprintln(stderr, "bench:", err)
			return 2
		}
	} else {
		writeTable(stdout, rep)
	}
	if rep.failed() > 0 {
		return 1
	}
	return 0
}

func suiteCommand(ctx context.Context, args []string, stderr io.Writer) (*Report, bool, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o suiteOptions
	var runs string
	var jsonOut bool
	fs.StringVar(&o.Bin, "bin", "bin", "directory holding the step and step-ca binaries")
	fs.StringVar(&o.DB, "db", "", "database: badger (what step ca init writes), bbolt, postgresql, mysql or none")
	fs.StringVar(&o.DBSource, "db-source", "", "db.dataSource for --db (a file for bbolt, a DSN for SQL)")
	fs.StringVar(&runs, "runs", defaultRuns, "runs as mode:concurrency,... (modes: sign, renew, mixed, ocsp, ssh)")
	fs.IntVar(&o.N, "n", 6000, "timed requests per run")
	fs.DurationVar(&o.Duration, "duration", 10*time.Second, "stop a run after this long even if --n is not reached")
	fs.IntVar(&o.Keys, "keys", 1000, "distinct client keys and CSRs, used round-robin")
	fs.DurationVar(&o.Timeout, "timeout", 30*time.Second, "per-request timeout")
	fs.BoolVar(&o.SoftHSM, "softhsm", false, "keep the CA keys in a SoftHSM2 token (step ca init --kms): step-ca signs through PKCS#11")
	fs.BoolVar(&o.Keep, "keep", false, "keep the temporary directory (PKI, password, CA log)")
	fs.BoolVar(&jsonOut, "json", false, "print the report as JSON")
	fs.IntVar(&o.Prefill, "prefill", 0, "issue this many certificates into the database (bench-prefill) before starting the CA")
	fs.DurationVar(&o.Settle, "settle", 0, "after the runs, let the CA idle this long and measure its memory again (e.g. 2m)")
	fs.StringVar(&o.Reuse, "reuse", "", "use the CA and database a --keep run left in this directory (no step ca init)")
	fs.StringVar(&o.HeapProfile, "heap-profile", "", "save the CA's heap profile (after a GC) to this file at the end")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: bench [flags]       (or: bench load -h)\n\n"+
			"Creates a CA with `step ca init` defaults in a temporary directory, starts step-ca,\n"+
			"runs the load runs against it, prints the results and removes everything.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, false, err
	}
	if fs.NArg() > 0 {
		return nil, false, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	var err error
	if o.Runs, err = parseRuns(runs); err != nil {
		return nil, false, err
	}
	for _, r := range o.Runs {
		if r.Mode != modeSign && r.Mode != modeOCSP && r.Mode != modeACME && o.Keys < r.C {
			return nil, false, fmt.Errorf("--keys %d is less than the %d workers of the %s run", o.Keys, r.C, r.Mode)
		}
	}
	if o.Prefill < 0 || o.Settle < 0 {
		return nil, false, errors.New("--prefill and --settle must not be negative")
	}
	if o.N < 1 || o.Duration <= 0 {
		return nil, false, errors.New("--n and --duration must be positive")
	}
	rep, err := runSuite(ctx, o, stderr)
	return rep, jsonOut, err
}

func loadCommand(ctx context.Context, args []string, stderr io.Writer) (*Report, bool, error) {
	fs := flag.NewFlagSet("bench load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfgPath, caURL, root, prov, pwFile string
	var o loadOptions
	var nkeys int
	var jsonOut bool
	fs.StringVar(&cfgPath, "ca-config", "", "the CA's ca.json (required): provisioner key, and defaults for --ca-url and --root")
	fs.StringVar(&pwFile, "password-file", "", "password of the provisioner's encryptedKey (required)")
	fs.StringVar(&prov, "provisioner", "", "JWK provisioner name (default: the first JWK provisioner)")
	fs.StringVar(&caURL, "ca-url", "", "CA URL (default https://<dnsNames[0]>:<port of address>)")
	fs.StringVar(&root, "root", "", "root certificate PEM (default: ca.json's root)")
	fs.StringVar(&o.Mode, "mode", modeSign, "sign, renew (over mTLS), mixed or ocsp")
	fs.IntVar(&o.N, "n", 2000, "timed requests (0: bounded by --duration only)")
	fs.DurationVar(&o.Duration, "duration", 0, "stop after this long (0: bounded by --n only)")
	fs.IntVar(&o.C, "c", 16, "concurrency: workers, each with its own keep-alive connection")
	fs.IntVar(&nkeys, "keys", 0, "distinct client keys and CSRs (default min(n, 1000), at least c)")
	fs.IntVar(&o.ServerPID, "server-pid", 0, "PID of the CA on this machine, to measure its CPU time")
	fs.DurationVar(&o.Timeout, "timeout", 30*time.Second, "per-request timeout")
	fs.BoolVar(&jsonOut, "json", false, "print the report as JSON")
	if err := fs.Parse(args); err != nil {
		return nil, false, err
	}
	if fs.NArg() > 0 {
		return nil, false, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if cfgPath == "" || pwFile == "" {
		return nil, false, errors.New("--ca-config and --password-file are required")
	}
	if nkeys <= 0 {
		nkeys = 1000
		if o.N > 0 {
			nkeys = min(o.N, 1000)
		}
		nkeys = max(nkeys, o.C)
	}
	t, err := loadTarget(cfgPath, caURL, root, prov, pwFile)
	if err != nil {
		return nil, false, err
	}
	fmt.Fprintf(stderr, "bench: generating %d P-256 keys and CSRs\n", nkeys)
	if o.Keys, err = genKeys(nkeys); err != nil {
		return nil, false, err
	}
	rep := &Report{CAURL: t.url, NumCPU: runtime.NumCPU(), LoadBefore: loadAverage()}
	fmt.Fprintf(stderr, "bench: %s c=%d n=%d duration=%v\n", o.Mode, o.C, o.N, o.Duration)
	res, err := runLoad(ctx, t, o)
	if err != nil {
		return nil, false, err
	}
	rep.LoadAfter = loadAverage()
	rep.Runs = []*Result{res}
	return rep, jsonOut, nil
}

func acmeCommand(ctx context.Context, args []string, stderr io.Writer) (*Report, bool, error) {
	fs := flag.NewFlagSet("bench acme", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o acmeOptions
	var root string
	var jsonOut bool
	fs.StringVar(&o.Directory, "directory", "", "ACME directory URL (required), e.g. https://localhost:9000/acme/acme/directory")
	fs.StringVar(&root, "root", "", "root certificate PEM the CA's TLS and chains verify with (required)")
	fs.StringVar(&o.Identifier, "identifier", "127.0.0.1", "what every order asks for: an IP, or a DNS name the CA resolves to --listen's address")
	fs.StringVar(&o.Listen, "listen", "127.0.0.1:80", "address this process answers http-01 on")
	fs.IntVar(&o.C, "c", 16, "concurrency: ACME accounts, each obtaining certificates one after another")
	fs.IntVar(&o.N, "n", 500, "certificates (0: bounded by --duration only)")
	fs.DurationVar(&o.Duration, "duration", 0, "stop after this long (0: bounded by --n only)")
	fs.IntVar(&o.ServerPID, "server-pid", 0, "PID of the CA on this machine, to measure its CPU time")
	fs.DurationVar(&o.Timeout, "timeout", 30*time.Second, "per-request timeout")
	fs.BoolVar(&jsonOut, "json", false, "print the report as JSON")
	if err := fs.Parse(args); err != nil {
		return nil, false, err
	}
	if o.Directory == "" || root == "" {
		return nil, false, errors.New("--directory and --root are required")
	}
	pool, _, err := loadRoots(root)
	if err != nil {
		return nil, false, err
	}
	o.Roots = pool
	rep := &Report{CAURL: o.Directory, NumCPU: runtime.NumCPU(), LoadBefore: loadAverage()}
	fmt.Fprintf(stderr, "bench: acme c=%d n=%d duration=%v\n", o.C, o.N, o.Duration)
	res, err := runACME(ctx, o)
	if err != nil {
		return nil, false, err
	}
	rep.LoadAfter = loadAverage()
	rep.Runs = []*Result{res}
	return rep, jsonOut, nil
}
