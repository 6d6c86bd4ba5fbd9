package e2e

import (
	"regexp"
	"strings"
	"testing"
)

// TestProvisionerPasswordWithoutTerminal: the CA commands that decrypt the
// provisioner key say which of their own flags gives the password when there
// is no terminal to ask on.
func TestProvisionerPasswordWithoutTerminal(t *testing.T) {
	t.Parallel()
	p := initPKI(t)
	p.start(t)
	u := p.client(t)
	u.ok(t, "certificate", "create", "csr.example.com", u.path("req.csr"), u.path("req.key"), "--csr", "--no-password", "--insecure")
	flagRE := regexp.MustCompile(`--[a-z0-9][a-z0-9-]*`)
	for _, args := range [][]string{
		{"ca", "certificate", "svc.example.com", u.path("svc.crt"), u.path("svc.key"), "--provisioner", "admin"},
		{"ca", "token", "svc.example.com", "--provisioner", "admin"},
		{"ca", "sign", u.path("req.csr"), u.path("req.crt"), "--provisioner", "admin"},
		{"ca", "revoke", "1234", "--provisioner", "admin"},
	} {
		name := strings.Join(args[:2], " ")
		r := u.run(args...)
		checkOneLine(t, r, "password", "--provisioner-password-file")
		help := u.ok(t, args[0], args[1], "--help").stdout
		for _, f := range flagRE.FindAllString(r.errorLines()[0], -1) {
			if !regexp.MustCompile(regexp.QuoteMeta(f) + `\b`).MatchString(help) {
				t.Errorf("step %s: the error names %s, which `step %s --help` does not list:\n%s", name, f, name, r)
			}
		}
	}
}
