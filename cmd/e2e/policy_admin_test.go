package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestPolicyAdminCommands drives `step ca policy` against a CA made by
// `step ca init --remote-management`: each change is read back, enforced
// at once (403 with step-ca's message, no files written), refused when a
// rule is invalid (nothing stored changes), and removed.
func TestPolicyAdminCommands(t *testing.T) {
	t.Parallel()
	p, _ := initPKIWith(t, "--remote-management")
	p.start(t)
	waitUntilAfterSecond(time.Now())
	u := p.client(t)
	pw := u.path("password.txt")
	adm := adminArgs(pw)
	policy := func(args ...string) result {
		t.Helper()
		return u.ok(t, append(append([]string{"ca", "policy"}, args...), adm...)...)
	}
	policyFails := func(args ...string) result {
		t.Helper()
		return u.fails(t, append(append([]string{"ca", "policy"}, args...), adm...)...)
	}
	// decoded checks that out is the JSON of a policy and returns it.
	decoded := func(r result) map[string]any {
		t.Helper()
		var m map[string]any
		if err := json.Unmarshal([]byte(r.stdout), &m); err != nil {
			t.Fatalf("output is not a policy's JSON: %v\n%s", err, r)
		}
		return m
	}
	cert := func(prov, name string) result {
		t.Helper()
		return u.run("ca", "certificate", name, u.path(name+".crt"), u.path(name+".key"), "--provisioner", prov, "--provisioner-password-file", pw)
	}
	certOK := func(prov, name string) {
		t.Helper()
		if r := cert(prov, name); r.code != 0 {
			t.Fatalf("certificate for %s from %s refused:\n%s", name, prov, r)
		}
	}
	certRefused := func(prov, name string) {
		t.Helper()
		r := cert(prov, name)
		want := `The request was forbidden by the certificate authority: dns name "` + name + `" not allowed`
		if r.code == 0 || !strings.Contains(r.stderr, want) {
			t.Fatalf("certificate for %s from %s: want a failure saying %q:\n%s", name, prov, want, r)
		}
		mustNotExist(t, u.path(name+".crt"))
		mustNotExist(t, u.path(name+".key"))
	}

	t.Run("authority", func(t *testing.T) {
		if r := policy("authority", "view"); strings.TrimSpace(r.stdout) != "certificate issuance policy does not exist" {
			t.Fatalf("view without a policy:\n%s", r)
		}
		// "step" stays allowed: the admin certificates are issued for it.
		m := decoded(policy("authority", "x509", "allow", "dns", "*.example.com", "step", "*.example.com"))
		allow := m["x509"].(map[string]any)["allow"].(map[string]any)["dns"].([]any)
		if len(allow) != 2 || allow[0] != "*.example.com" || allow[1] != "step" {
			t.Fatalf("policy after allow dns: %v", m)
		}
		certOK("admin", "a.example.com")
		certRefused("admin", "a.other.com")

		policy("authority", "x509", "deny", "dns", "bad.example.com")
		certRefused("admin", "bad.example.com")
		// An invalid rule is refused and changes nothing.
		r := policyFails("authority", "x509", "allow", "dns", "*.*.example.com")
		if !strings.Contains(r.stderr, "*.*.example.com") {
			t.Fatalf("invalid rule: the error does not name it:\n%s", r)
		}
		m = decoded(policy("authority", "view"))
		if !strings.Contains(jsonString(t, m), "bad.example.com") || strings.Contains(jsonString(t, m), "*.*.example.com") {
			t.Fatalf("policy after the refused change: %v", m)
		}
		m = decoded(policy("authority", "x509", "deny", "dns", "bad.example.com", "--remove"))
		if _, ok := m["x509"].(map[string]any)["deny"]; ok {
			t.Fatalf("deny list after --remove: %v", m)
		}
		certOK("admin", "bad.example.com")
		if r := policyFails("authority", "ssh", "user", "allow", "dns", "x"); r.code == 0 {
			t.Fatalf("ssh user dns accepted:\n%s", r)
		}

		if r := policy("authority", "remove"); strings.TrimSpace(r.stdout) != "policy deleted" {
			t.Fatalf("remove:\n%s", r)
		}
		certOK("admin", "b.other.com")
		if r := policyFails("authority", "remove"); !strings.Contains(r.stderr, "certificate issuance policy does not exist") {
			t.Fatalf("second remove:\n%s", r)
		}
	})
}

func jsonString(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
