package ca

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mayfly-pki/mayfly/internal/pemutil"
)

// provE2ETimeout bounds each command and each wait for step-ca's log.
const provE2ETimeout = 2 * time.Minute

// provE2ELog collects step-ca's output and wakes waiters on every write.
type provE2ELog struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{}
}

func (l *provE2ELog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	close(l.changed)
	l.changed = make(chan struct{})
	return len(p), nil
}

// snapshot returns the output so far and a channel closed on the next write.
func (l *provE2ELog) snapshot() (string, <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String(), l.changed
}

// waitFor waits until the output after offset from contains every one of
// subs, and returns the output's length then. It fails the test when step-ca
// exits or provE2ETimeout passes first.
func (l *provE2ELog) waitFor(t *testing.T, exited <-chan struct{}, from int, subs ...string) int {
	t.Helper()
	deadline := time.NewTimer(provE2ETimeout)
	defer deadline.Stop()
	for {
		out, changed := l.snapshot()
		found := true
		for _, s := range subs {
			found = found && strings.Contains(out[from:], s)
		}
		if found {
			return len(out)
		}
		select {
		case <-changed:
		case <-exited:
			out, _ = l.snapshot()
			t.Fatalf("step-ca exited before logging %q:\n%s", subs, out)
		case <-deadline.C:
			t.Fatalf("step-ca did not log %q within %s:\n%s", subs, provE2ETimeout, out)
		}
	}
}

// TestProvisionerAddEndToEnd builds step and step-ca, starts a CA, adds a
// JWK provisioner with a longer maximum lifetime to its ca.json, reloads the
// CA with SIGHUP and gets a certificate that only the new provisioner allows.
func TestProvisionerAddEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binaries; skipped with -short")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go tool is not available to build step and step-ca")
	}
	bin := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, goTool, "build", "-o", bin+string(os.PathSeparator),
		"github.com/mayfly-pki/mayfly/cmd/step", "github.com/mayfly-pki/mayfly/cmd/step-ca")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	base := t.TempDir()
	stepPath, home, work := filepath.Join(base, "step"), filepath.Join(base, "home"), filepath.Join(base, "work")
	for _, d := range []string{home, work} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	var env []string
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); name != "HOME" && !strings.HasPrefix(name, "STEP") {
			env = append(env, kv)
		}
	}
	env = append(env, "HOME="+home, "STEPPATH="+stepPath)
	pw := filepath.Join(work, "pw")
	if err := os.WriteFile(pw, []byte("e2e-pass\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	step := func(args ...string) (string, int) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), provE2ETimeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, filepath.Join(bin, "step"), args...)
		cmd.Dir, cmd.Env = work, env
		out, err := cmd.CombinedOutput()
		var exitErr *exec.ExitError
		switch {
		case err == nil:
			return string(out), 0
		case ctx.Err() == nil && errors.As(err, &exitErr):
			return string(out), exitErr.ExitCode()
		}
		t.Fatalf("step %s: %v\n%s", strings.Join(args, " "), err, out)
		return "", -1
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if out, code := step("ca", "init", "--name", "E2E", "--dns", "localhost", "--address", addr,
		"--provisioner", "admin", "--password-file", pw); code != 0 {
		t.Fatalf("step ca init: exit %d\n%s", code, out)
	}

	caLog := &provE2ELog{changed: make(chan struct{})}
	ca := exec.Command(filepath.Join(bin, "step-ca"), filepath.Join(stepPath, "config", "ca.json"), "--password-file", pw)
	ca.Dir, ca.Env, ca.Stdout, ca.Stderr = work, env, caLog, caLog
	if err := ca.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() {
		_ = ca.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = ca.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = ca.Process.Kill()
			<-exited
		}
	})
	mark := caLog.waitFor(t, exited, 0, "Serving HTTPS on")

	certArgs := func(prov, crt string) []string {
		return []string{"ca", "certificate", "e2e.example", crt, crt + ".key", "--provisioner", prov,
			"--provisioner-password-file", pw, "--not-after", "40h"}
	}
	if out, code := step(certArgs("dev", "before.crt")...); code != 1 || !strings.Contains(out, `provisioner "dev" not found`) {
		t.Fatalf("certificate before the add: exit %d\n%s", code, out)
	}
	out, code := step("ca", "provisioner", "add", "dev", "--create", "--password-file", pw, "--x509-max-dur", "48h")
	if code != 0 || !strings.Contains(out, "Success! Your `step-ca` config has been updated.") {
		t.Fatalf("provisioner add: exit %d\n%s", code, out)
	}
	if err := ca.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	caLog.waitFor(t, exited, mark, "reloaded ", ": 2 provisioners")

	if out, code := step(certArgs("dev", "dev.crt")...); code != 0 {
		t.Fatalf("certificate with the new provisioner: exit %d\n%s", code, out)
	}
	certs, err := pemutil.ReadCertificates(filepath.Join(work, "dev.crt"))
	if err != nil {
		t.Fatal(err)
	}
	if life := certs[0].NotAfter.Sub(certs[0].NotBefore); life < 40*time.Hour || life > 40*time.Hour+2*time.Minute {
		t.Fatalf("certificate lifetime %s, want 40h (plus the 1m backdate)", life)
	}
	// The first provisioner keeps the default 24h maximum.
	if out, code := step(certArgs("admin", "admin.crt")...); code != 1 || !strings.Contains(out, "more than the authorized maximum") {
		t.Fatalf("40h certificate from admin: exit %d, want 1\n%s", code, out)
	}
}
