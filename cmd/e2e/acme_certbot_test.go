package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// certbotBin returns Debian's certbot (`make deps`): skipped when it is
// absent, except in CI, where it must be there.
func certbotBin(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("certbot")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("certbot not found (CI=true; `make deps` installs it): %v", err)
		}
		t.Skip("certbot not found (apt-get install certbot), skipping")
	}
	return bin
}

// TestACMECertbot: certbot certonly --standalone (http-01 on 127.0.0.4:80)
// against the CA's ACME directory with REQUESTS_CA_BUNDLE set to the root,
// then certbot renew --force-renewal (a new certificate), then certbot
// revoke (the CA records the revocation: a second revoke is refused).
func TestACMECertbot(t *testing.T) {
	bin := certbotBin(t)
	if os.Geteuid() != 0 {
		t.Skip("http-01 needs port 80: run as root")
	}
	const name = "certbot.acme.test"
	p, ca, _ := acmePKI(t, map[string]string{name: "127.0.0.4"}, false)
	dir := t.TempDir()
	env := append(os.Environ(), "REQUESTS_CA_BUNDLE="+filepath.Join(p.caPath, "certs", "root_ca.crt"))
	server := p.url + "/acme/acme/directory"
	dirs := []string{"--config-dir", filepath.Join(dir, "config"), "--work-dir", filepath.Join(dir, "work"),
		"--logs-dir", filepath.Join(dir, "logs"), "--non-interactive"}
	run := func(args ...string) result {
		return runBinary(bin, dir, env, 3*time.Minute, append(args, dirs...)...)
	}
	r := run("certonly", "--agree-tos", "--register-unsafely-without-email", "--server", server,
		"--standalone", "--http-01-address", "127.0.0.4", "--http-01-port", "80",
		"--preferred-challenges", "http", "-d", name, "--key-type", "ecdsa")
	if r.code != 0 {
		t.Fatalf("certbot certonly:\n%s\nCA log:\n%s", r, ca.log.tail(30))
	}
	live := filepath.Join(dir, "config", "live", name)
	first := readCerts(t, filepath.Join(live, "cert.pem"))[0]
	if strings.Join(first.DNSNames, ",") != name {
		t.Fatalf("certbot's certificate names %v", first.DNSNames)
	}
	if len(readCerts(t, filepath.Join(live, "fullchain.pem"))) != 2 {
		t.Fatal("fullchain.pem is not leaf + intermediate")
	}
	if err := first.CheckSignatureFrom(readCerts(t, filepath.Join(p.caPath, "certs", "intermediate_ca.crt"))[0]); err != nil {
		t.Fatalf("not issued by the intermediate: %v", err)
	}

	r = run("renew", "--force-renewal", "--no-random-sleep-on-renew")
	if r.code != 0 {
		t.Fatalf("certbot renew:\n%s\nCA log:\n%s", r, ca.log.tail(30))
	}
	second := readCerts(t, filepath.Join(live, "cert.pem"))[0]
	if second.SerialNumber.Cmp(first.SerialNumber) == 0 {
		t.Fatal("renew --force-renewal kept the same certificate")
	}

	r = run("revoke", "--server", server, "--cert-path", filepath.Join(live, "cert.pem"), "--no-delete-after-revoke", "--reason", "keycompromise")
	if r.code != 0 {
		t.Fatalf("certbot revoke:\n%s\nCA log:\n%s", r, ca.log.tail(30))
	}
	r = run("revoke", "--server", server, "--cert-path", filepath.Join(live, "cert.pem"), "--no-delete-after-revoke")
	// Debian's certbot 2.1.0 crashes while reporting the problem
	// (josepy "AttributeError: can't set attribute" on Python 3.11); its
	// log holds the CA's answer.
	log, _ := os.ReadFile(filepath.Join(dir, "logs", "letsencrypt.log"))
	if r.code == 0 || !strings.Contains(string(log), "urn:ietf:params:acme:error:alreadyRevoked") {
		t.Fatalf("second certbot revoke succeeded or said something else:\n%s\ncertbot log:\n%s", r, tailLines(string(log), 40))
	}
}

func tailLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
