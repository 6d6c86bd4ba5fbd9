package wire

import (
	"encoding/json"
	"strings"
	"testing"
)

// A provisioner's policy crosses linkedca's form both ways (so that GET
// then PUT keeps it); an empty one is none.
func TestProvisionerPolicyRoundTrip(t *testing.T) {
	cfg := json.RawMessage(`{"type":"JWK","name":"dev","key":{"kty":"EC"},"policy":{"x509":{"allow":{"dns":["*.example.com"]},"allowWildcardNames":true},"ssh":{"user":{"deny":{"email":["@evil.com"]}}}}}`)
	p, err := ProvisionerFromConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if p.Policy == nil || p.Policy.X509 == nil || len(p.Policy.X509.Allow.DNS) != 1 || !p.Policy.X509.AllowWildcardNames ||
		p.Policy.SSH.User.Deny.Emails[0] != "@evil.com" {
		t.Fatalf("linkedca policy: %+v", p.Policy)
	}
	b, _ := json.Marshal(p)
	if !strings.Contains(string(b), `"policy":{"x509":{"allow":{"dns":["*.example.com"]},"allowWildcardNames":true},"ssh":{"user":{"deny":{"emails":["@evil.com"]}}}}`) {
		t.Fatalf("linkedca JSON: %s", b)
	}
	back, err := ProvisionerToConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(back, &m); err != nil {
		t.Fatal(err)
	}
	if got, want := string(m["policy"]), `{"x509":{"allow":{"dns":["*.example.com"]},"allowWildcardNames":true},"ssh":{"user":{"deny":{"email":["@evil.com"]}}}}`; got != want {
		t.Fatalf("ca.json policy\n got %s\nwant %s", got, want)
	}
	p.Policy = &Policy{}
	if back, err = ProvisionerToConfig(p); err != nil || strings.Contains(string(back), "policy") {
		t.Fatalf("empty policy: %s, %v", back, err)
	}
}
