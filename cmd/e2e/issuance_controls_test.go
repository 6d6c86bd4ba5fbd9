package e2e

import (
	"strings"
	"syscall"
	"testing"
)

// TestIssuanceControls: a provisioner's own policy and lint in ca.json,
// applied on SIGHUP (403 naming the name or the lint, no files written),
// and contradicting provisioner claims refused by --validate-config with
// their JSON path (issue 19).
func TestIssuanceControls(t *testing.T) {
	t.Parallel()
	p := initPKI(t)
	ca := p.start(t)
	u := p.client(t)
	pw := u.path("password.txt")

	editConfig(t, p.configPath(), func(cfg map[string]any) {
		prov := cfg["authority"].(map[string]any)["provisioners"].([]any)[0].(map[string]any)
		prov["policy"] = map[string]any{"x509": map[string]any{"allow": map[string]any{"dns": []any{"*.example.com"}}}}
		prov["lint"] = map[string]any{"enabled": true, "lints": []any{"e_sub_cert_aia_missing"}}
	})
	if r := p.op.stepCA(p.configPath(), "--validate-config"); r.code != 0 {
		t.Fatalf("valid config refused:\n%s", r)
	}
	mark := ca.log.mark()
	ca.signal(t, syscall.SIGHUP)
	ca.waitLog(t, mark, "reloaded", "reload failed")

	r := u.fails(t, "ca", "certificate", "a.example.org", u.path("p.crt"), u.path("p.key"), "--provisioner-password-file", pw)
	if !strings.Contains(r.stderr, `dns name "a.example.org" not allowed`) {
		t.Fatalf("provisioner policy:\n%s", r)
	}
	mustNotExist(t, u.path("p.crt"))
	r = u.fails(t, "ca", "certificate", "a.example.com", u.path("l.crt"), u.path("l.key"), "--provisioner-password-file", pw)
	if !strings.Contains(r.stderr, "certificate failed lint e_sub_cert_aia_missing") {
		t.Fatalf("lint:\n%s", r)
	}
	mustNotExist(t, u.path("l.crt"))

	// With the OCSP responder on, the AIA is there and the lint passes.
	editConfig(t, p.configPath(), func(cfg map[string]any) {
		cfg["ocsp"] = map[string]any{"enabled": true}
	})
	mark = ca.log.mark()
	ca.signal(t, syscall.SIGHUP)
	ca.waitLog(t, mark, "reloaded", "reload failed")
	u.ok(t, "ca", "certificate", "a.example.com", u.path("ok.crt"), u.path("ok.key"), "--provisioner-password-file", pw)

	editConfig(t, p.configPath(), func(cfg map[string]any) {
		prov := cfg["authority"].(map[string]any)["provisioners"].([]any)[0].(map[string]any)
		prov["claims"] = map[string]any{"minTLSCertDuration": "48h"}
	})
	r = p.op.stepCA(p.configPath(), "--validate-config")
	if r.code != 1 || !strings.Contains(r.stderr, `authority.provisioners[0].claims.minTLSCertDuration: provisioner "admin": minTLSCertDuration 48h0m0s is greater than maxTLSCertDuration 24h0m0s`) {
		t.Fatalf("contradicting claims:\n%s", r)
	}
}
