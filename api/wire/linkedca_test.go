package wire

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
)

// TestLinkedProvisionerRoundTrip: a ca.json entry survives the trip to
// linkedca's form and back (what the admin API stores).
func TestLinkedProvisionerRoundTrip(t *testing.T) {
	bundle := base64.StdEncoding.EncodeToString([]byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"))
	cases := []string{
		`{"type":"JWK","name":"dev","key":{"kty":"EC","crv":"P-256","kid":"k","x":"a","y":"b"},"encryptedKey":"e.y.j.w.t"}`,
		`{"type":"X5C","name":"x","roots":"` + bundle + `","claims":{"maxTLSCertDuration":"1h","defaultTLSCertDuration":"30m","enableSSHCA":false}}`,
		`{"type":"ACME","name":"acme","forceCN":true,"requireEAB":true,"challenges":["http-01","tls-alpn-01"]}`,
		`{"type":"OIDC","name":"google","clientID":"id","clientSecret":"s","configurationEndpoint":"https://x/.well-known/openid-configuration","admins":["a@b"],"domains":["b"]}`,
		`{"type":"SSHPOP","name":"sshpop","options":{"x509":{"template":"{{ toJson .Subject }}","templateData":{"a":1}}}}`,
	}
	for _, in := range cases {
		lp, err := ProvisionerFromConfig(json.RawMessage(in))
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		body, err := json.Marshal(lp)
		if err != nil {
			t.Fatal(err)
		}
		var back Provisioner
		if err := json.Unmarshal(body, &back); err != nil {
			t.Fatal(err)
		}
		out, err := ProvisionerToConfig(&back)
		if err != nil {
			t.Fatalf("%s: back: %v", in, err)
		}
		var want, got map[string]any
		_ = json.Unmarshal([]byte(in), &want)
		_ = json.Unmarshal(out, &got)
		w, _ := json.Marshal(want)
		g, _ := json.Marshal(got)
		if string(w) != string(g) {
			t.Errorf("round trip:\n got %s\nwant %s", g, w)
		}
	}
}

func TestLinkedProvisionerRefusals(t *testing.T) {
	for body, want := range map[string]string{
		`{"type":"AWS","name":"aws"}`:                                      "not supported by the admin API yet",
		`{"type":"JWK","name":""}`:                                         "name cannot be empty",
		`{"type":"JWK","name":"x","details":{"JWK":{"publicKey":1}}}`:      "details.JWK.publicKey",
		`{"type":"JWK","name":"x","details":{"JWK":[]}}`:                   "details.JWK",
		`{"type":"JWK","name":"x","x509Template":{"data":"bm90IGpzb24="}}`: "not JSON",
	} {
		var p Provisioner
		if err := json.Unmarshal([]byte(body), &p); err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		if _, err := ProvisionerToConfig(&p); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", body, err, want)
		}
	}
}

// FuzzProvisionerToConfig: any admin API body converts or fails cleanly,
// and what converts is a JSON object.
func FuzzProvisionerToConfig(f *testing.F) {
	f.Add(`{"type":"JWK","name":"dev","details":{"JWK":{"publicKey":"e30=","encryptedPrivateKey":"YQ=="}}}`)
	f.Add(`{"type":"X5C","name":"x","details":{"X5C":{"roots":["YQ=="]}},"claims":{"x509":{"durations":{"max":"1h"}}}}`)
	f.Add(`{"type":"ACME","name":"a","details":{"ACME":{"challenges":["HTTP_01"]}}}`)
	f.Add(`{"x509":{"allow":{"dns":["*.example.com"],"commonNames":["a"]}},"ssh":{"user":{"deny":{"emails":["x@y"]}}}}`)
	f.Fuzz(func(t *testing.T, body string) {
		var pol Policy
		if json.Unmarshal([]byte(body), &pol) == nil {
			if out, err := PolicyToConfig(&pol); err == nil {
				if _, err := PolicyFromConfig(out); err != nil {
					t.Fatalf("converted policy does not decode: %s: %v", out, err)
				}
			}
		}
		var p Provisioner
		if json.Unmarshal([]byte(body), &p) != nil {
			return
		}
		out, err := ProvisionerToConfig(&p)
		if err != nil {
			return
		}
		var m map[string]any
		if err := json.Unmarshal(out, &m); err != nil {
			t.Fatalf("converted body is not a JSON object: %s", out)
		}
	})
}

func TestLinkedPolicyRoundTrip(t *testing.T) {
	in := `{"x509":{"allow":{"cn":["a"],"dns":["*.example.com"],"ip":["10.0.0.0/8"],"email":["@example.com"],"uri":["spiffe.example"]},"deny":{"dns":["bad.example.com"]},"allowWildcardNames":true},"ssh":{"user":{"allow":{"email":["@example.com"],"principal":["ops"]}},"host":{"deny":{"dns":["*.internal"],"ip":["10.1.0.0/16"]}}}}`
	p, err := PolicyFromConfig(json.RawMessage(in))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(p)
	if !strings.Contains(string(body), `"commonNames":["a"]`) || !strings.Contains(string(body), `"ips":["10.0.0.0/8"]`) {
		t.Fatalf("linkedca form: %s", body)
	}
	var back Policy
	if err := json.Unmarshal(body, &back); err != nil {
		t.Fatal(err)
	}
	out, err := PolicyToConfig(&back)
	if err != nil {
		t.Fatal(err)
	}
	var want, got map[string]any
	_ = json.Unmarshal([]byte(in), &want)
	_ = json.Unmarshal(out, &got)
	w, _ := json.Marshal(want)
	g, _ := json.Marshal(got)
	if string(w) != string(g) {
		t.Fatalf("round trip:\n got %s\nwant %s", g, w)
	}
	if _, err := PolicyToConfig(&Policy{}); err == nil {
		t.Fatal("an empty policy was accepted")
	}
}
