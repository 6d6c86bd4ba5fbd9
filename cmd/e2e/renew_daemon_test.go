package e2e

import (
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestRenewDaemon drives `step ca renew --daemon` as a host would: SIGHUP
// renews now and runs --exec; a certificate file replaced by garbage gives
// an ERROR line and the daemon keeps running; once the file is good again the
// next SIGHUP renews; SIGTERM exits 0 (issue 5, wire-spec §9).
func TestRenewDaemon(t *testing.T) {
	t.Parallel()
	p := initPKI(t)
	p.start(t)
	u := p.client(t)
	crt, key, marker := u.path("svc.crt"), u.path("svc.key"), u.path("hook-ran")
	u.ok(t, "ca", "certificate", "svc.example.com", crt, key, "--provisioner-password-file", u.path("password.txt"))
	first := readCerts(t, crt)[0]

	cmd := exec.Command(stepBin(), "ca", "renew", crt, key, "--daemon", "--exec", "touch "+marker)
	cmd.Dir, cmd.Env = u.dir, commandEnv(u.home, u.stepPath)
	out, errOut := newLogBuffer(), newLogBuffer()
	cmd.Stdout, cmd.Stderr = out, errOut
	dieWithTest(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	var waitErr error // valid once exited is closed
	go func() {
		waitErr = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	waitFor := func(b *logBuffer, from int, want string) {
		t.Helper()
		if _, err := b.waitFor(from, want, exited, logTimeout); err != nil {
			t.Fatalf("the daemon %v\nstdout:\n%s\nstderr:\n%s", err, out.tail(20), errOut.tail(20))
		}
	}
	waitFor(out, 0, "first renewal in")

	// SIGHUP: renew now, then the hook.
	mark := out.mark()
	_ = cmd.Process.Signal(syscall.SIGHUP)
	waitFor(out, mark, "svc.example.com certificate renewed, next in")
	second := readCerts(t, crt)[0]
	if second.SerialNumber.Cmp(first.SerialNumber) == 0 {
		t.Fatal("the certificate file was not renewed")
	}
	deadline := time.Now().Add(logTimeout)
	for {
		if _, err := os.Stat(marker); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("--exec did not run after the renewal")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if fi, err := os.Stat(crt); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("renewed file mode: %v %v", fi.Mode(), err)
	}

	// Garbage in the certificate file: an ERROR line, the daemon lives on.
	good := readFile(t, crt)
	if err := os.WriteFile(crt, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	emark := errOut.mark()
	_ = cmd.Process.Signal(syscall.SIGHUP)
	waitFor(errOut, emark, "ERROR: ")
	if string(readFile(t, crt)) != "not a certificate\n" {
		t.Fatal("the daemon changed a file it could not read")
	}

	// A good file again: the next SIGHUP renews.
	if err := os.WriteFile(crt, good, 0o600); err != nil {
		t.Fatal(err)
	}
	mark = out.mark()
	_ = cmd.Process.Signal(syscall.SIGHUP)
	waitFor(out, mark, "certificate renewed")
	if third := readCerts(t, crt)[0]; third.SerialNumber.Cmp(second.SerialNumber) == 0 {
		t.Fatal("the certificate was not renewed after the file was repaired")
	}

	// SIGTERM: exit 0.
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
		if waitErr != nil {
			t.Fatalf("the daemon exited with %v on SIGTERM, want 0", waitErr)
		}
	case <-time.After(logTimeout):
		t.Fatalf("the daemon did not stop within %s of SIGTERM", logTimeout)
	}
	// The daemon has exited and cmd.Wait has copied all of its output.
	if strings.Contains(out.tail(50), "ERROR") {
		t.Fatalf("an ERROR went to stdout: %s", out.tail(50))
	}
}
