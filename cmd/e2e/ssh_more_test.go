package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSSHBannerKeys: step-ca prints the SSH CA keys at start, after the root
// fingerprint, as step-ca does (wire-spec §2.2): the KMS walkthrough tells
// users to copy them from there.
func TestSSHBannerKeys(t *testing.T) {
	t.Parallel()
	p := initSSHPKI(t)
	ca := p.start(t)
	for _, c := range []struct{ label, file string }{
		{"SSH Host CA Key: ", "ssh_host_ca_key.pub"},
		{"SSH User CA Key: ", "ssh_user_ca_key.pub"},
	} {
		b, err := os.ReadFile(filepath.Join(p.caPath, "certs", c.file))
		if err != nil {
			t.Fatal(err)
		}
		ca.expectLog(t, 0, c.label+strings.TrimSpace(string(b)), "step-ca must print its SSH CA key")
	}
}

// TestSSHAddUser: `step ssh certificate --add-user` writes step's
// "-provisioner" key and certificate, and sshd runs the CA's add-user
// command (ssh.addUserCommand, here harmless) when it is used to log in as
// ssh.addUserPrincipal (here root, the only user sshd lets in).
func TestSSHAddUser(t *testing.T) {
	t.Parallel()
	sshd := needSSHD(t)
	p := initSSHPKI(t)
	editConfig(t, p.configPath(), func(cfg map[string]any) {
		s := cfg["ssh"].(map[string]any)
		s["addUserPrincipal"] = "root"
		s["addUserCommand"] = "echo add-user-ran-for-<principal>"
	})
	p.start(t)
	u := p.client(t)
	pw := u.path("password.txt")
	prov := []string{"--provisioner", "admin", "--provisioner-password-file", pw, "--no-password", "--insecure", "--no-agent"}

	hostKey := u.path("ssh_host_ecdsa_key")
	u.ok(t, append([]string{"ssh", "certificate", "localhost", hostKey, "--host", "--principal", "localhost", "--principal", "127.0.0.1"}, prov...)...)
	if r := u.run(append([]string{"ssh", "certificate", "web", u.path("web"), "--host", "--add-user"}, prov...)...); r.code == 0 ||
		!strings.Contains(r.stderr, "flag '--add-user' is incompatible with '--host'") {
		t.Fatalf("--add-user --host: want a refusal:\n%s", r)
	}
	userKey := u.path("id_ecdsa")
	r := u.ok(t, append([]string{"ssh", "certificate", "alice@example.com", userKey, "--add-user"}, prov...)...)
	auKey := userKey + "-provisioner"
	for _, f := range []string{auKey, auKey + ".pub", auKey + "-cert.pub"} {
		if !strings.Contains(r.stderr, f+"\n") {
			t.Fatalf("--add-user output does not name %s:\n%s", f, r)
		}
	}
	if fi, err := os.Stat(auKey); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("%s: %v, mode %v; want 0600", auKey, err, fi.Mode())
	}
	main, au := readSSHCert(t, userKey+"-cert.pub"), readSSHCert(t, auKey+"-cert.pub")
	if au.KeyId != "alice-root" || len(au.ValidPrincipals) != 1 || au.ValidPrincipals[0] != "root" ||
		au.ValidAfter != main.ValidAfter || au.ValidBefore != main.ValidBefore {
		t.Fatalf("add user certificate: key ID %q principals %v window %d-%d (main %d-%d)", au.KeyId, au.ValidPrincipals,
			au.ValidAfter, au.ValidBefore, main.ValidAfter, main.ValidBefore)
	}

	roots := u.ok(t, "ssh", "config", "--roots", "--host").stdout
	knownHosts := u.writeFile(t, "known_hosts", "@cert-authority * "+roots, 0o600)
	userCA := u.writeFile(t, "user_ca.pub", u.ok(t, "ssh", "config", "--roots").stdout, 0o600)
	s := startSSHD(t, sshd, u.dir, "HostKey "+hostKey, "HostCertificate "+hostKey+"-cert.pub", "TrustedUserCAKeys "+userCA)
	out, err := sshLogin(t, s, auKey, knownHosts)
	if err != nil || !strings.Contains(out, "add-user-ran-for-alice") || strings.Contains(out, "logged-in-as") {
		t.Fatalf("ssh with the add user certificate: want the forced add-user command: %v\n%s", err, out)
	}
}

// TestSSHProvisionerTemplate: the provisioner's options.ssh templateFile
// (relative to $STEPPATH) with templateData decides the certificate, and
// `step ssh certificate --set` reaches it as .Insecure.User.
func TestSSHProvisionerTemplate(t *testing.T) {
	t.Parallel()
	p := initSSHPKI(t)
	tpl := `{"type": {{ toJson .Type }}, "keyId": {{ toJson (printf "%s/%s" .KeyID .team) }},
"principals": [{{ range .Principals }}{{ toJson . }}, {{ end }}{{ toJson .Insecure.User.role }}],
"extensions": {"permit-pty": ""}, "criticalOptions": {"force-command": {{ toJson (printf "/usr/local/bin/%s-shell" .team) }}}}`
	if err := os.MkdirAll(filepath.Join(p.caPath, "templates", "certs"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(p.caPath, "templates", "certs", "team.tpl"), []byte(tpl), 0o600); err != nil {
		t.Fatal(err)
	}
	editConfig(t, p.configPath(), func(cfg map[string]any) {
		provs := cfg["authority"].(map[string]any)["provisioners"].([]any)
		admin := provs[0].(map[string]any)
		admin["options"] = map[string]any{"ssh": map[string]any{"templateFile": "templates/certs/team.tpl", "templateData": map[string]any{"team": "ops"}}}
	})
	p.start(t)
	u := p.client(t)
	pw := u.path("password.txt")
	key := u.path("id_ecdsa")
	u.ok(t, "ssh", "certificate", "alice@example.com", key, "--set", "role=deploy", "--provisioner", "admin",
		"--provisioner-password-file", pw, "--no-password", "--insecure", "--no-agent")
	c := readSSHCert(t, key+"-cert.pub")
	want := []string{"alice", "alice@example.com", "deploy"}
	if c.KeyId != "alice@example.com/ops" || strings.Join(c.ValidPrincipals, ",") != strings.Join(want, ",") ||
		len(c.Extensions) != 1 || c.CriticalOptions["force-command"] != "/usr/local/bin/ops-shell" {
		t.Fatalf("templated certificate: key ID %q principals %v extensions %v options %v", c.KeyId, c.ValidPrincipals, c.Extensions, c.CriticalOptions)
	}
}

// TestSSHLoginAddUser: `step ssh login --add-user` puts the add-user
// certificate in the agent beside the user's.
func TestSSHLoginAddUser(t *testing.T) {
	t.Parallel()
	sock := startAgent(t)
	p := initSSHPKI(t)
	p.start(t)
	u := p.client(t)
	env := []string{"SSH_AUTH_SOCK=" + sock}
	r := u.okEnv(t, env, "ssh", "login", "bob@example.com", "--add-user", "--provisioner", "admin", "--provisioner-password-file", u.path("password.txt"))
	if !strings.Contains(r.stderr, "SSH Agent: yes") || !strings.Contains(r.stderr, "Add User Certificate: yes") {
		t.Fatalf("ssh login --add-user:\n%s", r)
	}
	r = u.okEnv(t, env, "ssh", "list")
	if n := strings.Count(r.stdout, "bob@example.com (ECDSA-CERT)"); n != 2 {
		t.Fatalf("the agent holds %d certificates of bob, want 2 (his and the add-user one):\n%s", n, r)
	}
}
