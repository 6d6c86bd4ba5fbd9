package e2e

import (
	"strings"
	"testing"
	"time"
)

func TestAdminHAPostgreSQL(t *testing.T) {
	t.Parallel()
	testAdminHA(t, haPostgres)
}

func TestAdminHAMySQL(t *testing.T) {
	t.Parallel()
	testAdminHA(t, haMySQL)
}

// enableAdmin sets authority.enableAdmin in the ca.json at path.
func enableAdmin(t *testing.T, path string) {
	t.Helper()
	editConfig(t, path, func(cfg map[string]any) { cfg["authority"].(map[string]any)["enableAdmin"] = true })
}

// testAdminHA runs two step-ca processes with remote administration on one
// database of srv: a provisioner added through A is served by B without a
// restart (B's poll of the admin version picks it up), so is the policy
// then set on it through A, one removed through
// B disappears from A, and both bootstrapped the same single super admin.
func testAdminHA(t *testing.T, srv haServer) {
	needBinaries(t)
	database := srv.database(t)
	a := initPKI(t)
	setDB(t, a.configPath(), map[string]any{"type": srv.typ, "dataSource": srv.caDSN, "database": database})
	enableAdmin(t, a.configPath())

	bPath, bURL := cloneCA(t, a)

	caA := a.start(t)
	caB := startCA(t, bPath, a.pwFile)
	waitUntilAfterSecond(time.Now())
	u := a.client(t)
	pw := u.path("password.txt")
	adm := adminArgs(pw)

	// One super admin, whichever node stored it.
	for _, url := range []string{a.url, bURL} {
		out := u.ok(t, append([]string{"ca", "admin", "list", "--ca-url", url}, adm...)...).stdout
		if strings.Count(out, "SUPER_ADMIN") != 1 {
			t.Fatalf("admins on %s:\n%s", url, out)
		}
	}

	// ca.json's provisioners stay as ca.json says.
	r := u.fails(t, append([]string{"ca", "provisioner", "remove", "admin"}, adm...)...)
	if !strings.Contains(r.stderr, "provisioner admin is defined in ca.json") {
		t.Fatalf("removing a ca.json provisioner through the API:\n%s", r)
	}

	markB := caB.log.mark()
	u.ok(t, append([]string{"ca", "provisioner", "add", "dev", "--type", "JWK", "--create", "--password-file", pw}, adm...)...)
	saved := time.Now() // A answered: the change is committed
	caB.waitLog(t, markB, "admin change at version")
	// Logged for the record (the poll interval is 500 ms); not asserted.
	t.Logf("%s: B applied the provisioner added through A %s after A answered", srv.name, time.Since(saved).Round(time.Millisecond))
	u.ok(t, "ca", "certificate", "dev.example.com", u.path("dev.crt"), u.path("dev.key"), "--provisioner", "dev",
		"--provisioner-password-file", pw, "--ca-url", bURL)

	// A provisioner policy set through A is enforced by B.
	markB = caB.log.mark()
	u.ok(t, append([]string{"ca", "policy", "provisioner", "x509", "allow", "dns", "*.example.com", "--provisioner", "dev"}, adm...)...)
	caB.waitLog(t, markB, "admin change at version")
	r = u.fails(t, "ca", "certificate", "dev.example.org", u.path("org.crt"), u.path("org.key"), "--provisioner", "dev",
		"--provisioner-password-file", pw, "--ca-url", bURL)
	if !strings.Contains(r.stderr, `dns name "dev.example.org" not allowed`) {
		t.Fatalf("certificate refused by dev's policy on B:\n%s", r)
	}
	mustNotExist(t, u.path("org.crt"))

	markA := caA.log.mark()
	u.ok(t, append([]string{"ca", "provisioner", "remove", "dev", "--ca-url", bURL}, adm...)...)
	caA.waitLog(t, markA, "admin change at version")
	r = u.fails(t, "ca", "certificate", "dev2.example.com", u.path("dev2.crt"), u.path("dev2.key"), "--provisioner", "dev",
		"--provisioner-password-file", pw)
	mustNotExist(t, u.path("dev2.crt"))
	if !strings.Contains(r.stderr, "dev") {
		t.Fatalf("certificate from a removed provisioner on A:\n%s", r)
	}
}
