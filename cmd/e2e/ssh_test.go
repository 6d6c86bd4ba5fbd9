package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// initSSHPKI is initPKI with `step ca init --ssh`.
func initSSHPKI(t *testing.T) *testPKI {
	t.Helper()
	p, _ := initPKIWith(t, "--ssh")
	return p
}

// needSSHD skips the test when OpenSSH's server is not installed (`make
// deps` installs openssh-server) or when not running as root (sshd needs it).
func needSSHD(t *testing.T) string {
	t.Helper()
	sshd, err := exec.LookPath("sshd")
	if err != nil {
		sshd = "/usr/sbin/sshd"
		if _, err := os.Stat(sshd); err != nil {
			t.Skip("sshd not installed: run `make deps` (openssh-server)")
		}
	}
	if os.Geteuid() != 0 {
		t.Skip("sshd needs root")
	}
	for _, tool := range []string{"ssh", "ssh-keygen"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed: run `make deps` (openssh-client)", tool)
		}
	}
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		t.Fatalf("create /run/sshd (sshd's privilege separation directory): %v", err)
	}
	return sshd
}

// sshdProcess is an sshd on a free loopback port with a private config.
type sshdProcess struct {
	port string
	log  *logBuffer
}

// startSSHD runs sshd in the foreground with config lines added to a
// private sshd_config, and waits until its port accepts connections.
func startSSHD(t *testing.T, sshd, dir string, lines ...string) *sshdProcess {
	t.Helper()
	addr, port := freeAddr(t)
	cfg := append([]string{
		"Port " + port, "ListenAddress 127.0.0.1",
		"AuthorizedKeysFile none", "PubkeyAuthentication yes", "PasswordAuthentication no",
		"KbdInteractiveAuthentication no", "PermitRootLogin prohibit-password", "UsePAM no",
		"PidFile " + filepath.Join(dir, "sshd.pid"), "LogLevel VERBOSE", "StrictModes no",
	}, lines...)
	path := filepath.Join(dir, "sshd_config")
	if err := os.WriteFile(path, []byte(strings.Join(cfg, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(sshd, "-t", "-f", path).CombinedOutput(); err != nil {
		t.Fatalf("sshd -t -f %s: %v\n%s", path, err, out)
	}
	cmd := exec.Command(sshd, "-D", "-e", "-f", path)
	log := newLogBuffer()
	cmd.Stdout, cmd.Stderr = log, log
	dieWithTest(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start sshd: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("sshd log:\n%s", log.tail(40))
		}
	})
	deadline := time.Now().Add(logTimeout)
	for !dialable(addr) {
		if time.Now().After(deadline) {
			t.Fatalf("sshd did not listen on %s within %s:\n%s", addr, logTimeout, log.tail(20))
		}
		time.Sleep(20 * time.Millisecond)
	}
	return &sshdProcess{port: port, log: log}
}

// sshLogin runs the OpenSSH client as root@127.0.0.1 with the user key and
// its certificate, trusting hosts only through knownHosts, and returns its
// combined output and error.
func sshLogin(t *testing.T, s *sshdProcess, key, knownHosts string, extra ...string) (string, error) {
	t.Helper()
	args := append([]string{"-F", "/dev/null", "-p", s.port, "-i", key, "-o", "CertificateFile=" + key + "-cert.pub",
		"-o", "IdentitiesOnly=yes", "-o", "UserKnownHostsFile=" + knownHosts, "-o", "GlobalKnownHostsFile=/dev/null",
		"-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-o", "ConnectTimeout=30"}, extra...)
	args = append(args, "root@127.0.0.1", "echo logged-in-as-$(id -un)")
	cmd := exec.Command("ssh", args...)
	cmd.Env = append(os.Environ(), "SSH_AUTH_SOCK=")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// certSerial reads the serial of an SSH certificate file.
func certSerial(t *testing.T, path string) string {
	t.Helper()
	return fmt.Sprint(readSSHCert(t, path).Serial)
}

// TestSSHLoginAndRevocation is the SSH CA against real OpenSSH: sshd gets
// a host certificate from the CA and trusts its user CA key, a user
// certificate logs in (known_hosts holds only @cert-authority), the
// certificate is revoked, `step ssh krl` fetches the key revocation list
// sshd reads (RevokedKeys) and the same login is refused.
func TestSSHLoginAndRevocation(t *testing.T) {
	t.Parallel()
	sshd := needSSHD(t)
	p := initSSHPKI(t)
	p.start(t)
	u := p.client(t)
	pw := u.path("password.txt")
	prov := []string{"--provisioner", "admin", "--provisioner-password-file", pw, "--no-password", "--insecure", "--no-agent"}

	hostKey := u.path("ssh_host_ecdsa_key")
	u.ok(t, append([]string{"ssh", "certificate", "localhost", hostKey, "--host", "--principal", "localhost", "--principal", "127.0.0.1"}, prov...)...)
	userKey := u.path("id_ecdsa")
	r := u.ok(t, append([]string{"ssh", "certificate", "alice@example.com", userKey, "--principal", "root"}, prov...)...)
	if !strings.Contains(r.stderr, "Certificate: "+userKey+"-cert.pub") {
		t.Fatalf("ssh certificate output:\n%s", r)
	}

	// The client trusts hosts only by the CA's host key.
	roots := u.ok(t, "ssh", "config", "--roots", "--host").stdout
	if !strings.HasPrefix(roots, "ecdsa-sha2-nistp256 ") {
		t.Fatalf("step ssh config --roots --host:\n%s", roots)
	}
	knownHosts := u.writeFile(t, "known_hosts", "@cert-authority * "+roots, 0o600)
	userCA := u.writeFile(t, "user_ca.pub", u.ok(t, "ssh", "config", "--roots").stdout, 0o600)
	krl := u.path("revoked.krl")
	u.ok(t, "ssh", "krl", "--out", krl)

	s := startSSHD(t, sshd, u.dir, "HostKey "+hostKey, "HostCertificate "+hostKey+"-cert.pub",
		"TrustedUserCAKeys "+userCA, "RevokedKeys "+krl)
	out, err := sshLogin(t, s, userKey, knownHosts)
	if err != nil || !strings.Contains(out, "logged-in-as-root") {
		t.Fatalf("ssh login with the CA's certificates: %v\n%s", err, out)
	}
	serial := certSerial(t, userKey+"-cert.pub")
	if _, err := s.log.waitFor(0, `Accepted certificate ID "alice@example.com" (serial `+serial+`)`, nil, logTimeout); err != nil {
		t.Fatalf("sshd did not log the certificate login: %v", err)
	}

	// Without @cert-authority the host certificate is not trusted.
	plain := u.writeFile(t, "known_hosts_plain", "", 0o600)
	if out, err := sshLogin(t, s, userKey, plain); err == nil {
		t.Fatalf("ssh trusted a host without a known key:\n%s", out)
	}

	r = u.ok(t, "ssh", "revoke", serial, "--provisioner", "admin", "--provisioner-password-file", pw, "--reason", "laptop lost")
	if !strings.Contains(r.stdout, "SSH Certificate with Serial Number "+serial+" has been revoked.") {
		t.Fatalf("ssh revoke output:\n%s", r)
	}
	// sshd knows only what the file says: the login still works until
	// the list is fetched.
	if out, err := sshLogin(t, s, userKey, knownHosts); err != nil {
		t.Fatalf("login before the KRL was fetched: %v\n%s", err, out)
	}
	r = u.ok(t, "ssh", "krl", "--out", krl)
	if !strings.Contains(r.stderr, "(1 revoked certificates) has been saved in "+krl) {
		t.Fatalf("ssh krl output:\n%s", r)
	}
	if out, err := exec.Command("ssh-keygen", "-Q", "-f", krl, userKey+"-cert.pub").CombinedOutput(); err == nil || !strings.Contains(string(out), "REVOKED") {
		t.Fatalf("ssh-keygen -Q does not find the certificate revoked: %v\n%s", err, out)
	}
	if out, err := exec.Command("ssh-keygen", "-Q", "-f", krl, hostKey+"-cert.pub").CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen -Q finds the host certificate revoked: %v\n%s", err, out)
	}
	mark := s.log.mark()
	if out, err := sshLogin(t, s, userKey, knownHosts); err == nil {
		t.Fatalf("the revoked certificate still logs in:\n%s", out)
	}
	if _, err := s.log.waitFor(mark, "revoked", nil, logTimeout); err != nil {
		t.Fatalf("sshd did not log the revocation: %v", err)
	}
	// Unchanged: the file is not rewritten.
	r = u.ok(t, "ssh", "krl", "--out", krl)
	if !strings.Contains(r.stderr, "is up to date") {
		t.Fatalf("second ssh krl:\n%s", r)
	}
}

// readSSHCert parses an SSH certificate file.
func readSSHCert(t *testing.T, path string) *gossh.Certificate {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	k, _, _, _, err := gossh.ParseAuthorizedKey(b)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	c, ok := k.(*gossh.Certificate)
	if !ok {
		t.Fatalf("%s is not a certificate", path)
	}
	return c
}

// TestSSHPOPRenewRekeyRevoke: a host certificate renews with an SSHPOP
// token made with itself (same key, principals and lifetime, a new serial),
// sshd serves the renewed one, a rekey gives a new key, a user certificate
// cannot renew (SSHPOP renews hosts only), and a certificate revoked by
// SSHPOP no longer renews.
func TestSSHPOPRenewRekeyRevoke(t *testing.T) {
	t.Parallel()
	p := initSSHPKI(t)
	p.start(t)
	u := p.client(t)
	pw := u.path("password.txt")
	prov := []string{"--provisioner", "admin", "--provisioner-password-file", pw, "--no-password", "--insecure", "--no-agent"}
	hostKey := u.path("ssh_host_ecdsa_key")
	u.ok(t, append([]string{"ssh", "certificate", "localhost", hostKey, "--host", "--principal", "localhost", "--principal", "127.0.0.1", "--not-after", "2h"}, prov...)...)
	crt := hostKey + "-cert.pub"
	before := readSSHCert(t, crt)

	u.ok(t, "ssh", "renew", crt, hostKey, "--force")
	after := readSSHCert(t, crt)
	if after.Serial == before.Serial || string(after.Key.Marshal()) != string(before.Key.Marshal()) ||
		strings.Join(after.ValidPrincipals, ",") != "localhost,127.0.0.1" || after.CertType != gossh.HostCert ||
		after.ValidBefore-after.ValidAfter != before.ValidBefore-before.ValidAfter || after.KeyId != before.KeyId {
		t.Fatalf("renewed certificate: serial %d→%d, principals %v, type %d, life %d→%d s", before.Serial, after.Serial,
			after.ValidPrincipals, after.CertType, before.ValidBefore-before.ValidAfter, after.ValidBefore-after.ValidAfter)
	}

	// The renewed host certificate works with sshd and ssh.
	if os.Geteuid() == 0 {
		if sshd, err := exec.LookPath("sshd"); err == nil || fileExists("/usr/sbin/sshd") {
			if err != nil {
				sshd = "/usr/sbin/sshd"
			}
			_ = os.MkdirAll("/run/sshd", 0o755)
			userKey := u.path("id_ecdsa")
			u.ok(t, append([]string{"ssh", "certificate", "bob@example.com", userKey, "--principal", "root"}, prov...)...)
			knownHosts := u.writeFile(t, "known_hosts", "@cert-authority * "+u.ok(t, "ssh", "config", "--roots", "--host").stdout, 0o600)
			userCA := u.writeFile(t, "user_ca.pub", u.ok(t, "ssh", "config", "--roots").stdout, 0o600)
			s := startSSHD(t, sshd, u.dir, "HostKey "+hostKey, "HostCertificate "+crt, "TrustedUserCAKeys "+userCA)
			if out, err := sshLogin(t, s, userKey, knownHosts); err != nil || !strings.Contains(out, "logged-in-as-root") {
				t.Fatalf("ssh login to sshd with the renewed host certificate: %v\n%s", err, out)
			}
		}
	}

	newKey := u.path("new_host_key")
	u.ok(t, "ssh", "rekey", crt, hostKey, "--out", newKey, "--no-password", "--insecure")
	rekeyed := readSSHCert(t, newKey+"-cert.pub")
	if string(rekeyed.Key.Marshal()) == string(after.Key.Marshal()) || rekeyed.KeyId != after.KeyId {
		t.Fatalf("rekeyed certificate has the old key or another key ID %q", rekeyed.KeyId)
	}
	if b, err := os.ReadFile(newKey); err != nil || !strings.Contains(string(b), "OPENSSH PRIVATE KEY") {
		t.Fatalf("new key %s: %v", newKey, err)
	}

	// SSHPOP renews host certificates only.
	userKey2 := u.path("id_user2")
	u.ok(t, append([]string{"ssh", "certificate", "carol@example.com", userKey2}, prov...)...)
	r := u.fails(t, "ssh", "renew", userKey2+"-cert.pub", userKey2, "--force")
	checkOneLine(t, r, "sshpop certificate must be a host ssh certificate")

	// Revoked with its own SSHPOP token, it no longer renews.
	serial := fmt.Sprint(after.Serial)
	r = u.ok(t, "ssh", "revoke", serial, "--sshpop-cert", crt, "--sshpop-key", hostKey)
	if !strings.Contains(r.stdout, "has been revoked") {
		t.Fatalf("ssh revoke --sshpop-cert:\n%s", r)
	}
	r = u.fails(t, "ssh", "renew", crt, hostKey, "--force")
	checkOneLine(t, r, "The request lacked necessary authorization to be completed.")
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
