package e2e

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-acme/lego/v5/certcrypto"
	"github.com/go-acme/lego/v5/certificate"
	"github.com/go-acme/lego/v5/challenge/http01"
	"github.com/go-acme/lego/v5/registration"
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
		return u.run("ca", "certificate", name, u.path(prov+"-"+name+".crt"), u.path(prov+"-"+name+".key"), "--provisioner", prov, "--provisioner-password-file", pw)
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
		mustNotExist(t, u.path(prov+"-"+name+".crt"))
		mustNotExist(t, u.path(prov+"-"+name+".key"))
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

		policy("authority", "x509", "deny", "dns", "denied.example.com")
		certRefused("admin", "denied.example.com")
		// An invalid rule is refused and changes nothing.
		r := policyFails("authority", "x509", "allow", "dns", "*.*.example.com")
		if !strings.Contains(r.stderr, "*.*.example.com") {
			t.Fatalf("invalid rule: the error does not name it:\n%s", r)
		}
		m = decoded(policy("authority", "view"))
		if !strings.Contains(jsonString(t, m), "denied.example.com") || strings.Contains(jsonString(t, m), "*.*.example.com") {
			t.Fatalf("policy after the refused change: %v", m)
		}
		m = decoded(policy("authority", "x509", "deny", "dns", "denied.example.com", "--remove"))
		if _, ok := m["x509"].(map[string]any)["deny"]; ok {
			t.Fatalf("deny list after --remove: %v", m)
		}
		certOK("admin", "denied.example.com")
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

	t.Run("provisioner", func(t *testing.T) {
		u.ok(t, append([]string{"ca", "provisioner", "add", "dev", "--type", "JWK", "--create", "--password-file", pw}, adm...)...)
		if r := policyFails("provisioner", "view"); !strings.Contains(r.stderr, "--provisioner") {
			t.Fatalf("view without --provisioner:\n%s", r)
		}
		if r := policy("provisioner", "view", "--provisioner", "dev"); strings.TrimSpace(r.stdout) != "certificate issuance policy does not exist" {
			t.Fatalf("view without a policy:\n%s", r)
		}
		if r := policyFails("provisioner", "x509", "allow", "dns", "*.example.com", "--provisioner", "nope"); !strings.Contains(r.stderr, "provisioner nope not found") {
			t.Fatalf("unknown provisioner:\n%s", r)
		}
		m := decoded(policy("provisioner", "x509", "allow", "dns", "*.example.com", "--provisioner", "dev"))
		if got := jsonString(t, m); got != `{"x509":{"allow":{"dns":["*.example.com"]}}}` {
			t.Fatalf("policy after allow dns: %s", got)
		}
		certOK("dev", "a.example.com")
		certRefused("dev", "a.other.com")
		certRefused("dev", "x.example.org")
		certOK("admin", "c.other.com") // the policy is dev's only

		// The routes' answers, as step-ca's.
		u.ok(t, "ca", "certificate", "step", u.path("super.crt"), u.path("super.key"), "--provisioner", "admin", "--provisioner-password-file", pw)
		h := newAdminHTTP(t, p, u.path("super.crt"), u.path("super.key"))
		path := "/admin/provisioners/dev/policy"
		for _, c := range []struct {
			method, path, body string
			code               int
			msg                string
		}{
			{"GET", "/admin/provisioners/nope/policy", "", 404, "provisioner nope not found"},
			{"POST", path, `{"x509":{"deny":{"dns":["x.example.com"]}}}`, 409, "provisioner dev already has a policy"},
			{"PUT", path, `{"x509":{"allow":{"ips":["10.0.0.0/40"]}}}`, 400, "10.0.0.0/40"},
			{"PUT", path, `{"ssh":{"host":{"allow":{"dns":["*.*.example.com"]}}}}`, 400, "*.*.example.com"},
			{"PUT", path, `{"x509":`, 400, "error reading request body"},
			{"DELETE", "/admin/provisioners/nope/policy", "", 404, "provisioner nope not found"},
		} {
			code, msg := h.do(c.method, c.path, h.token(c.path), c.body)
			if code != c.code || !strings.Contains(msg, c.msg) {
				t.Errorf("%s %s %s: %d %q, want %d %q", c.method, c.path, c.body, code, msg, c.code, c.msg)
			}
		}
		// Nothing refused was stored; the provisioner's other changes keep it.
		u.ok(t, append([]string{"ca", "provisioner", "update", "dev", "--x509-max-dur", "2h", "--x509-default-dur", "1h"}, adm...)...)
		code, body := h.do("GET", "/admin/provisioners/dev", h.token("/admin/provisioners/dev"), "")
		if code != 200 || !strings.Contains(body, `"policy":{"x509":{"allow":{"dns":["*.example.com"]}}}`) {
			t.Fatalf("provisioner after update: %d %s", code, body)
		}
		if got := jsonString(t, decoded(policy("provisioner", "view", "--provisioner", "dev"))); got != `{"x509":{"allow":{"dns":["*.example.com"]}}}` {
			t.Fatalf("view: %s", got)
		}
		certRefused("dev", "b.other.com")
		m = decoded(policy("provisioner", "x509", "wildcards", "allow", "--provisioner", "dev"))
		if got := jsonString(t, m); got != `{"x509":{"allow":{"dns":["*.example.com"]},"allowWildcardNames":true}}` {
			t.Fatalf("after wildcards allow: %s", got)
		}
		m = decoded(policy("provisioner", "x509", "wildcards", "deny", "--provisioner", "dev"))
		if got := jsonString(t, m); got != `{"x509":{"allow":{"dns":["*.example.com"]}}}` {
			t.Fatalf("after wildcards deny: %s", got)
		}

		if r := policy("provisioner", "remove", "--provisioner", "dev"); strings.TrimSpace(r.stdout) != "policy deleted" {
			t.Fatalf("remove:\n%s", r)
		}
		certOK("dev", "d.other.com")
		if r := policyFails("provisioner", "remove", "--provisioner", "dev"); !strings.Contains(r.stderr, "certificate issuance policy does not exist") {
			t.Fatalf("second remove:\n%s", r)
		}
		if code, msg := h.do("PUT", path, h.token(path), `{"x509":{"deny":{"dns":["x.example.com"]}}}`); code != 404 || msg != "provisioner policy does not exist" {
			t.Fatalf("PUT without a policy: %d %q", code, msg)
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

// TestPolicyACMEEAB: `step ca policy acme` on an EAB key (by reference and
// by key ID) is enforced at new-order for the account bound with that key:
// lego gets a certificate for an allowed name (http-01 on 127.0.0.31:80)
// and is refused (rejectedIdentifier) for another; the admin routes answer
// as step-ca's; remove lifts the policy.
func TestPolicyACMEEAB(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("http-01 needs port 80: run as root")
	}
	p, _ := initPKIWith(t, "--remote-management")
	d := startDNS(t, map[string]string{"ok.eab.test": "127.0.0.31", "no.other.test": "127.0.0.31"})
	ca := launchCA(t, t, p.caPath, p.configPath(), "--password-file", p.pwFile, "--resolver", d.addr)
	ca.waitLog(t, 0, "Serving HTTPS on")
	waitUntilAfterSecond(time.Now())
	u := p.client(t)
	pw := u.path("password.txt")
	adm := adminArgs(pw)
	u.ok(t, append([]string{"ca", "provisioner", "add", "acme", "--type", "ACME", "--require-eab"}, adm...)...)
	f := strings.Fields(strings.Split(strings.TrimSpace(u.ok(t, append([]string{"ca", "acme", "eab", "add", "acme", "team-1"}, adm...)...).stdout), "\n")[1])
	keyID, hmacKey := f[1], f[2]
	acmePolicy := func(args ...string) result {
		t.Helper()
		return u.ok(t, append(append([]string{"ca", "policy", "acme"}, args...), adm...)...)
	}

	if r := acmePolicy("view", "--provisioner", "acme", "--eab-key-reference", "team-1"); strings.TrimSpace(r.stdout) != "certificate issuance policy does not exist" {
		t.Fatalf("view without a policy:\n%s", r)
	}
	if r := u.fails(t, append([]string{"ca", "policy", "acme", "view", "--provisioner", "acme"}, adm...)...); !strings.Contains(r.stderr, "--eab-key-reference") {
		t.Fatalf("view without a key:\n%s", r)
	}
	if r := u.fails(t, append([]string{"ca", "policy", "acme", "x509", "allow", "dns", "*.eab.test", "--provisioner", "acme", "--eab-key-reference", "nope"}, adm...)...); !strings.Contains(r.stderr, "not found") {
		t.Fatalf("unknown reference:\n%s", r)
	}
	r := acmePolicy("x509", "allow", "dns", "*.eab.test", "--provisioner", "acme", "--eab-key-reference", "team-1")
	if !strings.Contains(r.stdout, `"*.eab.test"`) {
		t.Fatalf("allow dns:\n%s", r)
	}
	// By key ID: the same key's policy.
	if r := acmePolicy("view", "--provisioner", "acme", "--eab-key-id", keyID); !strings.Contains(r.stdout, `"*.eab.test"`) {
		t.Fatalf("view by key ID:\n%s", r)
	}

	u.ok(t, "ca", "certificate", "step", u.path("super.crt"), u.path("super.key"), "--provisioner", "admin", "--provisioner-password-file", pw)
	h := newAdminHTTP(t, p, u.path("super.crt"), u.path("super.key"))
	byKey := "/admin/acme/policy/acme/key/" + keyID
	for _, c := range []struct {
		method, path, body string
		code               int
		msg                string
	}{
		{"POST", byKey, `{"x509":{"deny":{"dns":["x.eab.test"]}}}`, 409, "ACME EAK already has a policy"},
		{"PUT", byKey, `{"x509":{"allow":{"ips":["10.0.0.0/40"]}}}`, 400, "10.0.0.0/40"},
		{"PUT", byKey, `{"ssh":{"user":{"allow":{"principals":["a"]}}}}`, 400, "SSH"},
		{"GET", "/admin/acme/policy/acme/key/nope", "", 404, "not found"},
		{"GET", "/admin/acme/policy/nope/key/" + keyID, "", 404, "provisioner nope not found"},
	} {
		code, msg := h.do(c.method, c.path, h.token(c.path), c.body)
		if code != c.code || !strings.Contains(msg, c.msg) {
			t.Errorf("%s %s %s: %d %q, want %d %q", c.method, c.path, c.body, code, msg, c.code, c.msg)
		}
	}

	ctx := context.Background()
	c, user := newLego(t, p)
	reg, err := c.Registration.RegisterWithExternalAccountBinding(ctx, registration.RegisterEABOptions{
		TermsOfServiceAgreed: true, Kid: keyID, HmacEncoded: hmacKey,
	})
	if err != nil {
		t.Fatalf("register with EAB: %v\nCA log:\n%s", err, ca.log.tail(20))
	}
	user.reg = reg
	if err := c.Challenge.SetHTTP01Provider(http01.NewProviderServer("127.0.0.31", "80")); err != nil {
		t.Fatal(err)
	}
	_, err = c.Certificate.Obtain(ctx, certificate.ObtainRequest{Domains: []string{"no.other.test"}, KeyType: certcrypto.EC256, Bundle: true})
	if err == nil || !strings.Contains(err.Error(), "rejectedIdentifier") || !strings.Contains(err.Error(), `dns name "no.other.test" not allowed`) {
		t.Fatalf("order for a name the key's policy refuses: %v", err)
	}
	res, err := c.Certificate.Obtain(ctx, certificate.ObtainRequest{Domains: []string{"ok.eab.test"}, KeyType: certcrypto.EC256, Bundle: true})
	if err != nil {
		t.Fatalf("obtain an allowed name: %v\nCA log:\n%s", err, ca.log.tail(20))
	}
	checkACMEIssued(t, p, res, "ok.eab.test")

	if r := acmePolicy("remove", "--provisioner", "acme", "--eab-key-id", keyID); strings.TrimSpace(r.stdout) != "policy deleted" {
		t.Fatalf("remove:\n%s", r)
	}
	if code, msg := h.do("GET", byKey, h.token(byKey), ""); code != 404 || msg != "ACME EAK policy does not exist" {
		t.Fatalf("GET after remove: %d %q", code, msg)
	}
	res, err = c.Certificate.Obtain(ctx, certificate.ObtainRequest{Domains: []string{"no.other.test"}, KeyType: certcrypto.EC256, Bundle: true})
	if err != nil {
		t.Fatalf("obtain after remove: %v\nCA log:\n%s", err, ca.log.tail(20))
	}
	checkACMEIssued(t, p, res, "no.other.test")
}
