package ca

import (
	"encoding/json"
	"testing"

	"github.com/mayfly-pki/mayfly/api/wire"
)

// The lists each name command edits, and the normalisation before a write:
// duplicates dropped, emptied parts removed, unsupported SSH lists refused.
func TestPolicyEdit(t *testing.T) {
	var p wire.Policy
	add := func(cert string, allow bool, name string, vals ...string) bool {
		l := policyList(&p, policyKind{cert: cert, allow: allow}, name)
		if l == nil {
			return false
		}
		*l = append(*l, vals...)
		return true
	}
	if !add("x509", true, "dns", "*.example.com", "a.example.org", "*.example.com") || !add("x509", false, "ip", "10.0.0.0/8") ||
		!add("host", true, "principal", "root") || !add("user", false, "email", "@evil.com") {
		t.Fatal("a supported list was refused")
	}
	for _, c := range []struct{ cert, name string }{{"user", "dns"}, {"user", "ip"}, {"host", "email"}, {"host", "cn"}, {"user", "uri"}} {
		if add(c.cert, true, c.name, "x") {
			t.Fatalf("ssh %s %s accepted", c.cert, c.name)
		}
	}
	normalizePolicy(&p)
	b, _ := json.Marshal(&p)
	want := `{"x509":{"allow":{"dns":["*.example.com","a.example.org"]},"deny":{"ips":["10.0.0.0/8"]}},"ssh":{"host":{"allow":{"principals":["root"]}},"user":{"deny":{"emails":["@evil.com"]}}}}`
	if string(b) != want {
		t.Fatalf("policy\n got %s\nwant %s", b, want)
	}
	p.X509.Allow.DNS, p.X509.Deny.IPs = nil, nil
	p.SSH.Host.Allow.Principals, p.SSH.User.Deny.Emails = nil, nil
	normalizePolicy(&p)
	if !policyEmpty(&p) {
		t.Fatalf("emptied policy is not empty: %+v", p)
	}
	p.X509 = &wire.LinkedX509Policy{AllowWildcardNames: true}
	normalizePolicy(&p)
	if policyEmpty(&p) {
		t.Fatal("a policy allowing wildcards is empty")
	}
}
