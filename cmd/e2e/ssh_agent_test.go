package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// startAgent runs ssh-agent in the foreground on a socket of its own.
func startAgent(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("ssh-agent"); err != nil {
		t.Skip("ssh-agent not installed: run `make deps` (openssh-client)")
	}
	sock := filepath.Join(t.TempDir(), "agent.sock")
	cmd := exec.Command("ssh-agent", "-D", "-a", sock)
	log := newLogBuffer()
	cmd.Stdout, cmd.Stderr = log, log
	dieWithTest(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start ssh-agent: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	deadline := time.Now().Add(logTimeout)
	for {
		if _, err := os.Stat(sock); err == nil {
			return sock
		}
		if time.Now().After(deadline) {
			t.Fatalf("ssh-agent did not create %s:\n%s", sock, log.tail(10))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestSSHAgentLoginAndConfig: `step ssh login` puts a user certificate in
// ssh-agent (no file), `step ssh list` shows it, `step ssh config` writes
// the ssh client configuration from the CA's templates, and the real ssh
// client, with only that configuration (Match exec step ssh check-host,
// known_hosts with @cert-authority, ProxyCommand step ssh proxycommand)
// and the agent, logs in to sshd. `step ssh logout` removes it.
func TestSSHAgentLoginAndConfig(t *testing.T) {
	t.Parallel()
	sshd := needSSHD(t)
	sock := startAgent(t)
	p := initSSHPKI(t)
	p.start(t)
	u := p.client(t)
	pw := u.path("password.txt")
	env := []string{"SSH_AUTH_SOCK=" + sock}

	hostKey := u.path("ssh_host_ecdsa_key")
	u.ok(t, "ssh", "certificate", "localhost", hostKey, "--host", "--principal", "localhost", "--principal", "127.0.0.1",
		"--provisioner", "admin", "--provisioner-password-file", pw, "--no-password", "--insecure", "--no-agent")
	userCA := u.writeFile(t, "user_ca.pub", u.ok(t, "ssh", "config", "--roots").stdout, 0o600)
	s := startSSHD(t, sshd, u.dir, "HostKey "+hostKey, "HostCertificate "+hostKey+"-cert.pub", "TrustedUserCAKeys "+userCA)

	// Without a certificate in the agent, the user configuration cannot be made.
	r := u.failsEnv(t, env, "ssh", "config")
	checkOneLine(t, r, "ssh certificate not found: please run step ssh login <identity>")

	r = u.okEnv(t, env, "ssh", "login", "alice@example.com", "--principal", "root", "--provisioner", "admin", "--provisioner-password-file", pw)
	if !strings.Contains(r.stderr, "SSH Agent: yes") {
		t.Fatalf("ssh login:\n%s", r)
	}
	r = u.okEnv(t, env, "ssh", "list")
	if !strings.Contains(r.stdout, "alice@example.com (ECDSA-CERT)") {
		t.Fatalf("ssh list:\n%s", r)
	}
	r = u.okEnv(t, env, "ssh", "config", "--dry-run")
	if !strings.Contains(r.stdout, "@cert-authority * ecdsa-sha2-nistp256 ") || !strings.Contains(r.stdout, "User root") {
		t.Fatalf("ssh config --dry-run:\n%s", r)
	}
	u.okEnv(t, env, "ssh", "config")
	sshConfig := filepath.Join(u.home, ".ssh", "config")
	b, err := os.ReadFile(sshConfig)
	if err != nil || !strings.Contains(string(b), "Include \""+u.stepPath+"/ssh/includes\"") {
		t.Fatalf("%s: %v\n%s", sshConfig, err, b)
	}
	if r := u.run("ssh", "check-host", "127.0.0.1"); r.code != 0 {
		t.Fatalf("check-host of a host with a certificate:\n%s", r)
	}
	if r := u.run("ssh", "check-host", "unknown.example.com"); r.code != 1 || strings.TrimSpace(r.stderr) != "" {
		t.Fatalf("check-host of an unknown host: want exit 1 and no output:\n%s", r)
	}

	// The real ssh client with nothing but the generated configuration.
	cmd := exec.Command("ssh", "-F", sshConfig, "-p", s.port, "-o", "BatchMode=yes", "-o", "IdentitiesOnly=no",
		"-o", "GlobalKnownHostsFile=/dev/null", "127.0.0.1", "echo logged-in-as-$(id -un)")
	cmd.Env = append(commandEnv(u.home, u.stepPath), "SSH_AUTH_SOCK="+sock, "PATH="+filepath.Dir(stepBin())+":"+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "logged-in-as-root") {
		t.Fatalf("ssh -F %s: %v\n%s", sshConfig, err, out)
	}

	u.okEnv(t, env, "ssh", "logout", "alice@example.com")
	r = u.okEnv(t, env, "ssh", "list")
	if strings.Contains(r.stdout, "alice@example.com") {
		t.Fatalf("ssh list after logout:\n%s", r)
	}
}
