package e2e

import (
	"strings"
	"syscall"
	"testing"
)

// TestPolicy: authority.policy in ca.json, applied on SIGHUP, refuses a
// denied name with step-ca's 403 message and writes no files, and still
// issues an allowed one; a bad rule is a --validate-config error with its
// JSON path (issue 19).
func TestPolicy(t *testing.T) {
	t.Parallel()
	p := initPKI(t)
	ca := p.start(t)
	u := p.client(t)
	pw := u.path("password.txt")

	// No policy yet: anything goes.
	u.ok(t, "ca", "certificate", "bad.example.com", u.path("before.crt"), u.path("before.key"), "--provisioner-password-file", pw)

	editConfig(t, p.configPath(), func(cfg map[string]any) {
		cfg["authority"].(map[string]any)["policy"] = map[string]any{
			"x509": map[string]any{
				"allow": map[string]any{"dns": []any{"*.example.com"}},
				"deny":  map[string]any{"dns": []any{"bad.example.com"}},
			},
		}
	})
	if r := p.op.stepCA(p.configPath(), "--validate-config"); r.code != 0 {
		t.Fatalf("valid policy refused:\n%s", r)
	}
	mark := ca.log.mark()
	ca.signal(t, syscall.SIGHUP)
	ca.waitLog(t, mark, "reloaded", "reload failed")

	mark = ca.log.mark()
	r := u.fails(t, "ca", "certificate", "bad.example.com", u.path("bad.crt"), u.path("bad.key"), "--provisioner-password-file", pw)
	if want := `The request was forbidden by the certificate authority: dns name "bad.example.com" not allowed`; !strings.Contains(r.stderr, want) {
		t.Fatalf("stderr does not say %q:\n%s", want, r)
	}
	mustNotExist(t, u.path("bad.crt"))
	mustNotExist(t, u.path("bad.key"))
	line := ca.waitLog(t, mark, "refused by policy")
	if !strings.Contains(line, "bad.example.com") || !strings.Contains(line, "dns:bad.example.com") {
		t.Fatalf("the log does not name the name and the rule: %s", line)
	}

	r = u.fails(t, "ca", "certificate", "other.example.org", u.path("o.crt"), u.path("o.key"), "--provisioner-password-file", pw)
	if want := `dns name "other.example.org" not allowed`; !strings.Contains(r.stderr, want) {
		t.Fatalf("stderr does not say %q:\n%s", want, r)
	}
	mustNotExist(t, u.path("o.crt"))

	u.ok(t, "ca", "certificate", "good.example.com", u.path("good.crt"), u.path("good.key"), "--provisioner-password-file", pw)
	if c := readCerts(t, u.path("good.crt"))[0]; c.Subject.CommonName != "good.example.com" {
		t.Fatalf("CN %q", c.Subject.CommonName)
	}

	// Tightened since issuance: the earlier certificate no longer renews.
	r = u.fails(t, "ca", "renew", "--force", u.path("before.crt"), u.path("before.key"))
	if !strings.Contains(r.stderr, `dns name "bad.example.com" not allowed`) {
		t.Fatalf("renew of a now-denied name:\n%s", r)
	}

	// A bad CIDR is a validation error with its path.
	editConfig(t, p.configPath(), func(cfg map[string]any) {
		cfg["authority"].(map[string]any)["policy"] = map[string]any{
			"x509": map[string]any{"allow": map[string]any{"ip": []any{"10.0.0.0/33"}}},
		}
	})
	r = p.op.stepCA(p.configPath(), "--validate-config")
	if r.code != 1 || !strings.Contains(r.stderr, "authority.policy.x509.allow.ip[0]") {
		t.Fatalf("want exit 1 naming authority.policy.x509.allow.ip[0]:\n%s", r)
	}
}
