package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// setKRLRefresh sets Mayfly's ssh.krlRefresh in a ca.json.
func setKRLRefresh(t *testing.T, path, d string) {
	t.Helper()
	var cfg map[string]any
	if err := json.Unmarshal(readFile(t, path), &cfg); err != nil {
		t.Fatal(err)
	}
	cfg["ssh"].(map[string]any)["krlRefresh"] = d
	b, err := json.MarshalIndent(cfg, "", "\t")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
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
	bPath := filepath.Join(t.TempDir(), "ca")
	copyTree(t, a.caPath, bPath)
	bConfig := filepath.Join(bPath, "config", "ca.json")
	text := strings.ReplaceAll(string(readFile(t, bConfig)), a.caPath, bPath)
	if err := os.WriteFile(bConfig, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	bAddr, bPort := freeAddr(t)
	setAddress(t, bConfig, bAddr)
	bURL := "https://localhost:" + bPort
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
