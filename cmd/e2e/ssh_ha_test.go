package e2e

import (
	"strings"
	"testing"
	"time"
)

// setKRLRefresh sets Mayfly's ssh.krlRefresh in a ca.json.
func setKRLRefresh(t *testing.T, path, d string) {
	t.Helper()
	editConfig(t, path, func(cfg map[string]any) { cfg["ssh"].(map[string]any)["krlRefresh"] = d })
}

// TestSSHKRLAcrossHANodes: two CAs share a PostgreSQL database; an SSH
// certificate revoked on A appears in the key revocation list B serves,
// once B has rebuilt it from the database (ssh.krlRefresh), without B
// reading the database per request.
func TestSSHKRLAcrossHANodes(t *testing.T) {
	t.Parallel()
	database := haPostgres.database(t)
	a := initSSHPKI(t)
	setDB(t, a.configPath(), map[string]any{"type": haPostgres.typ, "dataSource": haPostgres.caDSN, "database": database})
	setKRLRefresh(t, a.configPath(), "1s")
	bPath, bURL := cloneCA(t, a)
	a.start(t)
	startCA(t, bPath, a.pwFile)
	waitUntilAfterSecond(time.Now())
	u := a.client(t)
	pw := u.path("password.txt")

	key := u.path("id_ecdsa")
	u.ok(t, "ssh", "certificate", "alice@example.com", key, "--provisioner", "admin", "--provisioner-password-file", pw,
		"--no-password", "--insecure", "--no-agent")
	krl := u.path("b.krl")
	u.ok(t, "ssh", "krl", "--out", krl, "--ca-url", bURL) // B's list, before: empty
	serial := certSerial(t, key+"-cert.pub")
	u.ok(t, "ssh", "revoke", serial, "--provisioner", "admin", "--provisioner-password-file", pw) // on A
	deadline := time.Now().Add(logTimeout)
	for {
		r := u.ok(t, "ssh", "krl", "--out", krl, "--ca-url", bURL)
		if strings.Contains(r.stderr, "(1 revoked certificates)") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("B's key revocation list did not list the certificate revoked on A within %s:\n%s", logTimeout, r)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
