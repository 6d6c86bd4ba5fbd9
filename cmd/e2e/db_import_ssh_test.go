package e2e

import (
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestDBImportMayflySSH: a CA on PostgreSQL issues an SSH host and user
// certificate and revokes the user certificate; `step-ca db import --from
// postgresql:<dsn>` of that (Mayfly) database into a Badger ca.json carries
// the three SSH records, a second run finds them present, and the CA
// started on Badger lists the host (GET /ssh/hosts) and puts the revoked
// certificate in its KRL.
func TestDBImportMayflySSH(t *testing.T) {
	t.Parallel()
	name := haPostgres.database(t)
	p := initSSHPKI(t)
	setDB(t, p.configPath(), map[string]any{"type": "postgresql", "dataSource": haPostgres.caDSN, "database": name})
	ca := p.start(t)
	u := p.client(t)
	pw := u.path("password.txt")
	prov := []string{"--provisioner", "admin", "--provisioner-password-file", pw, "--no-password", "--insecure", "--no-agent"}
	hostKey := u.path("ssh_host_ecdsa_key")
	u.ok(t, append([]string{"ssh", "certificate", "web.example.com", hostKey, "--host", "--principal", "web.example.com", "--principal", "10.0.0.7"}, prov...)...)
	userKey := u.path("id_ecdsa")
	u.ok(t, append([]string{"ssh", "certificate", "alice@example.com", userKey, "--principal", "alice"}, prov...)...)
	serial := certSerial(t, userKey+"-cert.pub")
	u.ok(t, "ssh", "revoke", serial, "--provisioner", "admin", "--provisioner-password-file", pw, "--reason", "laptop lost")
	ca.stop(t)

	badgerDir := filepath.Join(p.caPath, "db-badger")
	setDB(t, p.configPath(), map[string]any{"type": "badgerv2", "dataSource": badgerDir, "badgerFileLoadingMode": ""})
	from := "postgresql:postgresql://postgres@127.0.0.1:5432/" + name + "?sslmode=disable"
	for _, want := range []string{
		"imported 0 certificates, 0 revocations, 0 used tokens, 3 SSH records (0 already present)",
		"imported 0 certificates, 0 revocations, 0 used tokens, 0 SSH records (3 already present)",
	} {
		r := p.op.stepCA("db", "import", "--from", from, "--to", p.configPath())
		if r.code != 0 || strings.TrimSpace(r.stdout) != want {
			t.Fatalf("step-ca db import --from %s: want exit 0 and %q:\n%s", from, want, r)
		}
	}

	p.start(t)
	r := do(t, httpsClient(p), http.MethodGet, p.url+"/ssh/hosts", nil)
	for _, h := range []string{"web.example.com", "10.0.0.7"} {
		if r.status != http.StatusOK || !strings.Contains(string(r.body), `"hostname":"`+h+`"`) {
			t.Fatalf("GET /ssh/hosts on the imported database does not list %s: %d %s", h, r.status, r)
		}
	}
	krl := u.path("revoked.krl")
	kr := u.ok(t, "ssh", "krl", "--out", krl)
	if !strings.Contains(kr.stderr, "(1 revoked certificates) has been saved in "+krl) {
		t.Fatalf("ssh krl on the imported database:\n%s", kr)
	}
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		return // the KRL's count above is what can be checked without OpenSSH
	}
	if out, err := exec.Command("ssh-keygen", "-Q", "-f", krl, userKey+"-cert.pub").CombinedOutput(); err == nil || !strings.Contains(string(out), "REVOKED") {
		t.Fatalf("ssh-keygen -Q does not find the imported revocation: %v\n%s", err, out)
	}
	if out, err := exec.Command("ssh-keygen", "-Q", "-f", krl, hostKey+"-cert.pub").CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen -Q finds the host certificate revoked: %v\n%s", err, out)
	}
}
