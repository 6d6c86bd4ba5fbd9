package ca

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
)

func fakeToken(t testing.TB, payload any) string {
	b, err := json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	return "e30." + base64.RawURLEncoding.EncodeToString(b) + ".c2ln"
}

func TestCloudSANs(t *testing.T) {
	doc, _ := json.Marshal(map[string]string{"privateIp": "10.0.1.2", "region": "eu-west-1", "instanceId": "i-1"})
	tests := []struct {
		name    string
		payload any
		want    string
	}{
		{"gcp", map[string]any{"google": map[string]any{"compute_engine": map[string]any{
			"instance_name": "vm", "project_id": "p", "zone": "z"}}}, "vm.c.p.internal,vm.z.c.p.internal"},
		{"aws", map[string]any{"amazon": map[string]any{"document": doc}}, "10.0.1.2,ip-10-0-1-2.eu-west-1.compute.internal"},
		{"azure", map[string]any{"tid": "t", "xms_mirid": "/subscriptions/s/resourceGroups/g/providers/Microsoft.Compute/virtualMachines/vm-9"}, "vm-9"},
		{"jwk", map[string]any{"sub": "x", "sans": []string{"x"}}, ""},
		{"azure bad mirid", map[string]any{"tid": "t", "xms_mirid": "/x"}, ""},
	}
	for _, tc := range tests {
		if got := strings.Join(cloudSANs(fakeToken(t, tc.payload)), ","); got != tc.want {
			t.Errorf("%s: cloudSANs = %q, want %q", tc.name, got, tc.want)
		}
	}
	if cloudSANs("not a token") != nil {
		t.Error("cloudSANs of garbage")
	}
}

func TestFindCloudProvisioner(t *testing.T) {
	list := []json.RawMessage{
		json.RawMessage(`{"type":"JWK","name":"admin"}`),
		json.RawMessage(`{"type":"AZURE","name":"az","audience":"https://x/"}`),
		json.RawMessage(`{"type":"gcp","name":"g"}`),
	}
	if _, ok := findCloudProvisioner("admin", list); ok {
		t.Error("JWK found as a cloud provisioner")
	}
	if _, ok := findCloudProvisioner("", list); ok {
		t.Error("found without --provisioner")
	}
	if p, ok := findCloudProvisioner("az", list); !ok || p.Type != "Azure" || p.Audience != "https://x/" {
		t.Errorf("az = %+v, %v", p, ok)
	}
	if p, ok := findCloudProvisioner("g", list); !ok || p.Type != "GCP" {
		t.Errorf("g = %+v, %v", p, ok)
	}
}

// FuzzCloudSANs: the token comes from the metadata server.
func FuzzCloudSANs(f *testing.F) {
	f.Add(fakeToken(f, map[string]any{"google": map[string]any{"compute_engine": map[string]any{"instance_name": "a"}}}))
	f.Add(fakeToken(f, map[string]any{"amazon": map[string]any{"document": "e30="}}))
	f.Add("a.b.c")
	f.Fuzz(func(t *testing.T, tok string) { _ = cloudSANs(tok) })
}
