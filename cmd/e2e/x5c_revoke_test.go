package e2e

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestX5CRevoke: `step ca revoke <serial> --x5c-cert --x5c-key` mints an
// X5C revoke token (audience /1.0/revoke#x5c/<name>, sub = the serial) as
// step does; the certificate, which renewed before, is revoked and no longer
// renews. A token for another serial is refused.
func TestX5CRevoke(t *testing.T) {
	t.Parallel()
	p := initPKI(t)
	p.op.ok(t, "ca", "provisioner", "add", "x5cp", "--type", "X5C", "--x5c-root", filepath.Join(p.caPath, "certs", "root_ca.crt"))
	p.start(t)
	u := p.client(t)
	pw := u.path("password.txt")
	idCrt, idKey := u.path("id.crt"), u.path("id.key")
	u.ok(t, "ca", "certificate", "client.example.com", idCrt, idKey, "--provisioner", "admin", "--provisioner-password-file", pw)
	crt, key := u.path("svc.crt"), u.path("svc.key")
	u.ok(t, "ca", "certificate", "svc.example.com", crt, key, "--x5c-cert", idCrt, "--x5c-key", idKey)
	serial := readCerts(t, crt)[0].SerialNumber.String()

	tok := strings.TrimSpace(u.ok(t, "ca", "token", serial, "--revoke", "--x5c-cert", idCrt, "--x5c-key", idKey).stdout)
	if _, payload := tokenParts(t, tok); payload["aud"] != p.url+"/1.0/revoke#x5c/x5cp" || payload["sub"] != serial {
		t.Fatalf("revoke token payload %v", payload)
	}

	// A token names its serial: another is refused.
	r := u.fails(t, "ca", "revoke", "12345", "--token", tok)
	checkOneLine(t, r, `request serial number "12345" and token subject "`+serial+`" do not match`)
	// Before the revocation the certificate renews.
	u.ok(t, "ca", "renew", crt, key, "--out", u.path("renewed.crt"))

	r = u.ok(t, "ca", "revoke", serial, "--x5c-cert", idCrt, "--x5c-key", idKey, "--reason", "rotated")
	if !strings.Contains(r.stdout, "Certificate with Serial Number "+serial+" has been revoked.") {
		t.Fatalf("revoke output:\n%s", r)
	}
	r = u.fails(t, "ca", "renew", crt, key, "-f")
	checkOneLine(t, r, "The request lacked necessary authorization to be completed.")
}
