// Package e2e drives the real step and step-ca binaries exactly as a user
// would: `step ca init`, a step-ca process on a free loopback port, and the
// step CLI (or a Go HTTPS client) against it. It holds tests only.
//
// TestMain builds both binaries once per `go test` run into a temporary
// directory. Every test uses its own STEPPATH, HOME and port, so independent
// tests run in parallel; every step-ca started is stopped at test end.
// `go test -short` skips the package.
package e2e

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// binDir holds the step and step-ca binaries built by TestMain; it is set
// once before any test runs and only read afterwards. Empty means the
// binaries were not built (-short) and tests must skip.
var binDir string

// commandTimeout bounds every step or step-ca invocation that is expected to
// finish on its own.
const commandTimeout = 60 * time.Second

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	flag.Parse()
	if testing.Short() {
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "mayfly-e2e-bin-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: create the binary directory: %v\n", err)
		return 1
	}
	defer os.RemoveAll(dir)
	if err := buildBinaries(dir); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		return 1
	}
	binDir = dir
	return m.Run()
}

// buildBinaries runs `go build -o dir/ ./cmd/step ./cmd/step-ca` and the
// example programs (examples/mtls-server, examples/mtls-client).
func buildBinaries(dir string) error {
	goTool, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("find the go tool to build step and step-ca: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goTool, "build", "-o", dir+string(os.PathSeparator),
		"github.com/mayfly-pki/mayfly/cmd/step", "github.com/mayfly-pki/mayfly/cmd/step-ca",
		"github.com/mayfly-pki/mayfly/examples/mtls-server", "github.com/mayfly-pki/mayfly/examples/mtls-client")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("go build of step and step-ca failed: %w\n%s", err, out)
	}
	return nil
}

// needBinaries skips t when the binaries were not built.
func needBinaries(t *testing.T) {
	t.Helper()
	if binDir == "" {
		t.Skip("end-to-end tests are skipped in -short mode")
	}
}

func stepBin() string   { return filepath.Join(binDir, "step") }
func stepCABin() string { return filepath.Join(binDir, "step-ca") }

// commandEnv returns the parent environment without anything that could
// point the binaries at the developer's own STEPPATH or defaults (HOME,
// STEPPATH, STEP_*, STEPDEBUG), plus HOME and STEPPATH as given.
func commandEnv(home, stepPath string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if name == "HOME" || strings.HasPrefix(name, "STEP") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "HOME="+home, "STEPPATH="+stepPath)
}

// result is one finished command.
type result struct {
	args   []string
	stdout string
	stderr string
	code   int   // exit code; -1 when the process did not exit normally
	err    error // start failure or timeout, nil for a normal exit of any code
}

// String renders the command and everything it printed, for failure messages.
func (r result) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "$ %s\nexit code %d", strings.Join(r.args, " "), r.code)
	if r.err != nil {
		fmt.Fprintf(&b, " (%v)", r.err)
	}
	fmt.Fprintf(&b, "\n--- stdout ---\n%s\n--- stderr ---\n%s\n--------------", r.stdout, r.stderr)
	return b.String()
}

// output is stdout and stderr together.
func (r result) output() string { return r.stdout + r.stderr }

// errorLines returns the non-empty stderr lines that are not progress output
// ("✔ Provisioner: ...") nor step's "Re-run with STEPDEBUG=1" hint.
func (r result) errorLines() []string {
	var out []string
	for _, l := range strings.Split(r.stderr, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "✔") || strings.HasPrefix(l, "Re-run with STEPDEBUG=1") {
			continue
		}
		out = append(out, l)
	}
	return out
}

// runBinary runs bin with args in dir under the given environment and waits
// at most timeout. stdin is empty (not a terminal), so nothing can prompt.
func runBinary(bin, dir string, env []string, timeout time.Duration, args ...string) result {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.WaitDelay = 5 * time.Second
	dieWithTest(cmd)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{args: append([]string{filepath.Base(bin)}, args...), code: -1}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		r.code = 0
	case ctx.Err() != nil:
		r.err = fmt.Errorf("killed after %s: %w", timeout, ctx.Err())
	case errors.As(err, &exitErr):
		r.code = exitErr.ExitCode()
	default:
		r.err = err
	}
	r.stdout, r.stderr = stdout.String(), stderr.String()
	return r
}

// user is someone running the step CLI with their own STEPPATH and HOME,
// from a working directory of their own. Its methods take the *testing.T to
// fail, so one user can serve several subtests.
type user struct {
	stepPath string
	home     string
	dir      string // working directory; relative file arguments live here
}

// newUser returns a user with fresh, empty HOME and working directories and
// STEPPATH=stepPath (which need not exist).
func newUser(t *testing.T, stepPath string) *user {
	t.Helper()
	base := t.TempDir()
	u := &user{stepPath: stepPath, home: filepath.Join(base, "home"), dir: filepath.Join(base, "work")}
	for _, d := range []string{u.home, u.dir} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatalf("create %s: %v", d, err)
		}
	}
	return u
}

// path returns the absolute path of name in the user's working directory.
func (u *user) path(name string) string { return filepath.Join(u.dir, name) }

// run runs `step args...` and returns what happened, whatever the exit code.
func (u *user) run(args ...string) result {
	return runBinary(stepBin(), u.dir, commandEnv(u.home, u.stepPath), commandTimeout, args...)
}

// ok runs step and fails t unless it exits 0.
func (u *user) ok(t *testing.T, args ...string) result {
	t.Helper()
	r := u.run(args...)
	if r.code != 0 || r.err != nil {
		t.Fatalf("command failed, want exit code 0:\n%s", r)
	}
	return r
}

// fails runs step and fails t unless it exits non-zero on its own (a
// timeout does not count).
func (u *user) fails(t *testing.T, args ...string) result {
	t.Helper()
	r := u.run(args...)
	if r.code <= 0 || r.err != nil {
		t.Fatalf("command did not fail as it should have:\n%s", r)
	}
	return r
}

// stepCA runs step-ca, expected to exit on its own, with a shorter timeout.
func (u *user) stepCA(args ...string) result {
	return runBinary(stepCABin(), u.dir, commandEnv(u.home, u.stepPath), 20*time.Second, args...)
}

// writeFile writes content to name in the user's working directory and
// returns its path.
func (u *user) writeFile(t *testing.T, name, content string, perm os.FileMode) string {
	t.Helper()
	p := u.path(name)
	if err := os.WriteFile(p, []byte(content), perm); err != nil {
		t.Fatalf("write %s: %v", p, err)
	}
	return p
}
