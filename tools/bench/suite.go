package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/mayfly-pki/mayfly/authority/config"
)

// runSpec is one run of the suite.
type runSpec struct {
	Mode string
	C    int
}

// defaultRuns is what `make bench` runs: sign at c=64, renew over mTLS at
// c=16, sign and renew mixed at c=32, SSH user certificates at c=64, and
// ACME (http-01) with 16 accounts (skipped unless the bench may listen on
// 127.0.0.1:80).
const defaultRuns = "sign:64,renew:16,mixed:32,ssh:64,acme:16"

// parseRuns reads "mode:c,mode:c,...".
func parseRuns(s string) ([]runSpec, error) {
	var out []runSpec
	for _, part := range strings.Split(s, ",") {
		mode, c, ok := strings.Cut(strings.TrimSpace(part), ":")
		n, err := strconv.Atoi(c)
		if !ok || err != nil || n < 1 {
			return nil, fmt.Errorf("--runs %q: want mode:concurrency[,mode:concurrency...], e.g. %s", s, defaultRuns)
		}
		switch mode {
		case modeSign, modeRenew, modeMixed, modeOCSP, modeSSH, modeACME:
		default:
			return nil, fmt.Errorf("--runs %q: unknown mode %q (sign, renew, mixed, ocsp, ssh, acme)", s, mode)
		}
		out = append(out, runSpec{Mode: mode, C: n})
	}
	return out, nil
}

// suiteOptions configure runSuite.
type suiteOptions struct {
	Bin      string        // directory holding step and step-ca
	SoftHSM  bool          // CA keys in a SoftHSM2 token (softhsm.go)
	DB       string        // "" or "badger": as step ca init writes; "bbolt", "postgresql", "mysql", "none"
	DBSource string        // db.dataSource for bbolt (default <steppath>/db/bbolt.db) and the SQL types
	Runs     []runSpec     // in order
	N        int           // timed requests per run
	Duration time.Duration // cap per run
	Keys     int           // distinct client keys
	Timeout  time.Duration // per request
	Keep     bool          // keep the temporary directory (PKI, CA log)

	// Prefill is the number of certificates bench-prefill issues into the
	// database before the CA starts (0: an empty database).
	Prefill int
	// Settle, when positive, measures the CA's memory again after it has
	// been idle this long after the runs.
	Settle time.Duration
	// HeapProfile, when set, is where the CA's heap profile (after a GC)
	// is saved once the memory has been measured.
	HeapProfile string
	// Reuse, when set, is a directory a run with Keep left: its CA and
	// database are used as they are (no step ca init).
	Reuse string
}

// initCA writes a password, runs step ca init on a free port into stepPath
// and sets the database o asks for; it returns the database's label.
func initCA(ctx context.Context, o suiteOptions, stepBin, stepPath, cfgPath, pwFile string, progress io.Writer) (string, error) {
	if err := writePassword(pwFile); err != nil {
		return "", err
	}
	port, err := freePort()
	if err != nil {
		return "", err
	}
	var extra []string
	if o.SoftHSM {
		uri, err := setupSoftHSM(ctx, filepath.Dir(stepPath))
		if err != nil {
			return "", err
		}
		extra = append(extra, "--kms", uri)
		fmt.Fprintf(progress, "bench: CA keys in a SoftHSM2 token (%s)\n", os.Getenv("SOFTHSM2_CONF"))
	}
	for _, r := range o.Runs {
		if r.Mode == modeSSH {
			// SSH runs need the SSH CA keys (and enableSSHCA on the provisioner).
			extra = append(extra, "--ssh")
			break
		}
	}
	fmt.Fprintf(progress, "bench: step ca init into %s\n", stepPath)
	if err := stepCAInit(ctx, stepBin, stepPath, pwFile, port, extra...); err != nil {
		return "", err
	}
	dbName, err := applyDB(cfgPath, stepPath, o.DB, o.DBSource)
	if err != nil {
		return "", err
	}
	for _, r := range o.Runs {
		if r.Mode == modeOCSP {
			if err := enableOCSP(cfgPath); err != nil {
				return "", err
			}
			break
		}
	}
	if hasACME(o.Runs) {
		if err := addACMEProvisioner(ctx, stepBin, stepPath); err != nil {
			return "", err
		}
	}
	return dbName, nil
}

// runSuite creates a fresh PKI with `step ca init` defaults in a temporary
// directory, starts step-ca on a free loopback port, runs o.Runs against it,
// stops it with SIGTERM and removes the directory. Progress goes to progress.
// Failed requests are in the report; the error is for everything else.
func runSuite(ctx context.Context, o suiteOptions, progress io.Writer) (rep *Report, err error) {
	stepBin, caBin := filepath.Join(o.Bin, "step"), filepath.Join(o.Bin, "step-ca")
	for _, b := range []string{stepBin, caBin} {
		if _, err := os.Stat(b); err != nil {
			return nil, fmt.Errorf("%w (build with `make build`, or point --bin at the binaries)", err)
		}
	}
	dir, fresh := o.Reuse, o.Reuse == ""
	if fresh {
		if dir, err = os.MkdirTemp("", "mayfly-bench-"); err != nil {
			return nil, fmt.Errorf("temporary directory: %w", err)
		}
		if o.Keep {
			fmt.Fprintf(progress, "bench: keeping %s (PKI, password, CA log)\n", dir)
		} else {
			defer os.RemoveAll(dir)
		}
	}
	stepPath, pwFile, logPath := filepath.Join(dir, "steppath"), filepath.Join(dir, "password"), filepath.Join(dir, "ca.log")
	cfgPath := filepath.Join(stepPath, "config", "ca.json")
	var dbName string
	if fresh {
		if dbName, err = initCA(ctx, o, stepBin, stepPath, cfgPath, pwFile, progress); err != nil {
			return nil, err
		}
	} else {
		fmt.Fprintf(progress, "bench: reusing %s (its database as the last run left it)\n", dir)
		if dbName, err = applyDB(cfgPath, stepPath, "", ""); err != nil {
			return nil, err
		}
	}
	dbPath, err := dbPathOf(cfgPath)
	if err != nil {
		return nil, err
	}
	if o.Prefill > 0 {
		if dbPath == "" {
			return nil, fmt.Errorf("--prefill needs an embedded database (badger or bbolt), not %s", dbName)
		}
		fmt.Fprintf(progress, "bench: prefilling %d certificates (bench-prefill)\n", o.Prefill)
		if err := prefill(ctx, filepath.Join(o.Bin, "bench-prefill"), cfgPath, pwFile, stepPath, o.Prefill, progress); err != nil {
			return nil, err
		}
	}
	t, err := loadTarget(cfgPath, "", "", "admin", pwFile)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(progress, "bench: generating %d P-256 keys and CSRs\n", o.Keys)
	keys, err := genKeys(o.Keys)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(progress, "bench: starting %s on %s (log: %s)\n", caBin, t.url, logPath)
	pprofPort, err := freePort()
	if err != nil {
		return nil, err
	}
	pprofURL := "http://127.0.0.1:" + strconv.Itoa(pprofPort)
	started := time.Now()
	ca, err := startCA(caBin, cfgPath, pwFile, stepPath, logPath, "--pprof", "127.0.0.1:"+strconv.Itoa(pprofPort))
	if err != nil {
		return nil, err
	}
	defer func() {
		if serr := ca.stop(15 * time.Second); serr != nil && err == nil {
			rep, err = nil, fmt.Errorf("%w; CA log ends with:\n%s", serr, logTail(logPath, 20))
		}
	}()
	if err := ca.waitHealthy(ctx, t.url, t.roots, 30*time.Second); err != nil {
		return nil, err
	}
	if o.SoftHSM {
		dbName += ", key in SoftHSM2"
	}
	scale := &Scale{Prefill: o.Prefill, StartupMs: float64(time.Since(started).Microseconds()) / 1000}
	rep = &Report{CAURL: t.url, DB: dbName, NumCPU: runtime.NumCPU(), LoadBefore: loadAverage(), Scale: scale}
	if err := measure(ctx, scale, "after start", ca.pid(), pprofURL); err != nil {
		return nil, err
	}
	for _, spec := range o.Runs {
		if spec.Mode == modeACME {
			n := max(o.N/10, spec.C)
			fmt.Fprintf(progress, "bench: acme c=%d n=%d (at most %v)\n", spec.C, n, o.Duration)
			res, err := runACME(ctx, acmeOptions{
				Directory: t.url + "/acme/acme/directory", Roots: t.roots, Identifier: "127.0.0.1",
				Listen: "127.0.0.1:80", C: spec.C, N: n, Duration: o.Duration, Timeout: o.Timeout, ServerPID: ca.pid(),
			})
			if err != nil {
				fmt.Fprintf(progress, "bench: acme run skipped: %v\n", err)
				continue
			}
			rep.Runs = append(rep.Runs, res)
			continue
		}
		fmt.Fprintf(progress, "bench: %s c=%d n=%d (at most %v)\n", spec.Mode, spec.C, o.N, o.Duration)
		res, err := runLoad(ctx, t, loadOptions{
			Mode: spec.Mode, N: o.N, Duration: o.Duration, C: spec.C, Timeout: o.Timeout,
			ServerPID: ca.pid(), Keys: keys,
		})
		if err != nil {
			return nil, err
		}
		rep.Runs = append(rep.Runs, res)
	}
	rep.LoadAfter = loadAverage()
	if err := measure(ctx, scale, "after runs", ca.pid(), pprofURL); err != nil {
		return nil, err
	}
	if dbPath != "" {
		if scale.DiskBytes, scale.DiskApparent, err = diskUsage(dbPath); err != nil {
			return nil, err
		}
	}
	if o.Settle > 0 {
		fmt.Fprintf(progress, "bench: CA idle for %v\n", o.Settle)
		select {
		case <-time.After(o.Settle):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if err := measure(ctx, scale, fmt.Sprintf("after %v idle", o.Settle), ca.pid(), pprofURL); err != nil {
			return nil, err
		}
	}
	if o.HeapProfile != "" {
		if err := saveHeapProfile(ctx, pprofURL, o.HeapProfile); err != nil {
			return nil, err
		}
		fmt.Fprintf(progress, "bench: heap profile in %s (go tool pprof -sample_index=inuse_space -top %s)\n", o.HeapProfile, o.HeapProfile)
	}
	if rep.failed() > 0 {
		fmt.Fprintf(progress, "bench: some requests failed; the CA log ends with:\n%s\n", logTail(logPath, 10))
	}
	return rep, nil
}

// writePassword writes a random password (for the CA keys and the
// provisioner) to path, mode 0600.
func writePassword(path string) error {
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		return fmt.Errorf("password: %w", err)
	}
	if err := os.WriteFile(path, []byte(base64.RawURLEncoding.EncodeToString(b[:])+"\n"), 0o600); err != nil {
		return fmt.Errorf("password: %w", err)
	}
	return nil
}

// applyDB sets ca.json's "db" block for the database type asked for and
// returns a label for the report. "" and "badger" keep what step ca init
// wrote; "none" removes the block (the CA keeps records in memory).
func applyDB(cfgPath, stepPath, typ, source string) (string, error) {
	data, err := os.ReadFile(cfgPath)
	if err != nil {
		return "", fmt.Errorf("read CA configuration: %w", err)
	}
	cfg, err := config.Decode(data, cfgPath)
	if err != nil {
		return "", err
	}
	switch typ {
	case "", "badger":
		if cfg.DB == nil {
			return "none", nil
		}
		return cfg.DB.Type, nil
	case "none":
		cfg.DB = nil
	case "bbolt":
		if source == "" {
			source = filepath.Join(stepPath, "db", "bbolt.db")
		}
		cfg.DB = &config.DB{Type: "bbolt", DataSource: source}
	case "postgresql", "mysql":
		if source == "" {
			return "", fmt.Errorf("--db %s needs --db-source (the DSN)", typ)
		}
		cfg.DB = &config.DB{Type: typ, DataSource: source}
	default:
		return "", fmt.Errorf("--db %q: want badger, bbolt, postgresql, mysql or none", typ)
	}
	if err := config.Save(cfgPath, cfg, false); err != nil {
		return "", err
	}
	return typ, nil
}

// enableOCSP sets "ocsp": {"enabled": true} in ca.json (for ocsp runs).
func enableOCSP(cfgPath string) error {
	data, err := os.ReadFile(cfgPath)
	if err != nil {
		return fmt.Errorf("read CA configuration: %w", err)
	}
	cfg, err := config.Decode(data, cfgPath)
	if err != nil {
		return err
	}
	cfg.OCSP = &config.OCSP{Enabled: true}
	return config.Save(cfgPath, cfg, false)
}

func hasACME(runs []runSpec) bool {
	for _, r := range runs {
		if r.Mode == modeACME {
			return true
		}
	}
	return false
}

// addACMEProvisioner adds the ACME provisioner "acme" (step-ca's defaults)
// with `step ca provisioner add acme --type ACME`.
func addACMEProvisioner(ctx context.Context, stepBin, stepPath string) error {
	cmd := exec.CommandContext(ctx, stepBin, "ca", "provisioner", "add", "acme", "--type", "ACME")
	cmd.Env = append(os.Environ(), "STEPPATH="+stepPath)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s ca provisioner add acme: %w\n%s", stepBin, err, out)
	}
	return nil
}

// measure appends the CA's resources now to s.
func measure(ctx context.Context, s *Scale, label string, pid int, pprofURL string) error {
	r, err := readResources(ctx, label, pid, pprofURL)
	if err != nil {
		return err
	}
	s.Points = append(s.Points, r)
	return nil
}

// dbPathOf returns the file or directory of ca.json's embedded database
// (badger, bbolt), or "" for none or an SQL server.
func dbPathOf(cfgPath string) (string, error) {
	data, err := os.ReadFile(cfgPath)
	if err != nil {
		return "", fmt.Errorf("read CA configuration: %w", err)
	}
	cfg, err := config.Decode(data, cfgPath)
	if err != nil {
		return "", err
	}
	if cfg.DB == nil {
		return "", nil
	}
	switch strings.ToLower(cfg.DB.Type) {
	case "badger", "badgerv1", "badgerv2", "badgerv4", "bbolt":
		return cfg.DB.DataSource, nil
	}
	return "", nil
}

// prefill runs bench-prefill on the CA's configuration (the CA is not
// running), its progress going to progress.
func prefill(ctx context.Context, bin, cfgPath, pwFile, stepPath string, n int, progress io.Writer) error {
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("%w (build it with `go build -o bin/ ./cmd/bench-prefill`, as make bench does)", err)
	}
	cmd := exec.CommandContext(ctx, bin, "--ca-config", cfgPath, "--password-file", pwFile, "--n", strconv.Itoa(n))
	cmd.Env = append(os.Environ(), "STEPPATH="+stepPath)
	cmd.Stdout, cmd.Stderr = progress, progress
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w", bin, err)
	}
	return nil
}
