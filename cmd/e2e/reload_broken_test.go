package e2e

import (
	"os"
	"strings"
	"syscall"
	"testing"
)

// TestReloadBrokenConfigKeepsServing: a ca.json edit that breaks the JSON,
// followed by SIGHUP, logs the problem and keeps the running configuration;
// fixing the file and SIGHUP again reloads (issue 5).
func TestReloadBrokenConfigKeepsServing(t *testing.T) {
	t.Parallel()
	p := initPKI(t)
	ca := p.start(t)
	u := p.client(t)
	good := readFile(t, p.configPath())
	if err := os.WriteFile(p.configPath(), append(append([]byte{}, good...), []byte("\n}")...), 0o644); err != nil {
		t.Fatal(err)
	}
	mark := ca.log.mark()
	ca.signal(t, syscall.SIGHUP)
	line := ca.waitLog(t, mark, "reload failed")
	if !strings.Contains(line, "ca.json") {
		t.Fatalf("the reload error does not name the file: %s", line)
	}
	u.ok(t, "ca", "certificate", "still.example.com", u.path("a.crt"), u.path("a.key"),
		"--provisioner-password-file", u.path("password.txt"))

	if err := os.WriteFile(p.configPath(), good, 0o644); err != nil {
		t.Fatal(err)
	}
	mark = ca.log.mark()
	ca.signal(t, syscall.SIGHUP)
	ca.waitLog(t, mark, "reloaded", "reload failed")
	u.ok(t, "ca", "certificate", "again.example.com", u.path("b.crt"), u.path("b.key"),
		"--provisioner-password-file", u.path("password.txt"))
}
