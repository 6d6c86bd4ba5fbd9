package ca

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"

	mjose "github.com/mayfly-pki/mayfly/internal/jose"
	"github.com/mayfly-pki/mayfly/internal/keyutil"
)

func TestProvisionerUpdate(t *testing.T) {
	// dev has claims, options with an inline template and a webhook, and a
	// member this CLI does not know; all must survive except what is changed.
	dev := `{"type":"JWK","name":"dev","key":{"kty":"EC","kid":"k1"},"encryptedKey":"e.n.c.k.ey","foo":"bar",` +
		`"claims":{"maxTLSCertDuration":"48h0m0s","enableSSHCA":true,"disableRenewal":false},` +
		`"options":{"x509":{"template":"{}"},"ssh":{},"webhooks":[{"name":"w"}]}}`
	tmplDir := t.TempDir()
	tmpl := filepath.Join(tmplDir, "leaf.tpl")
	data := filepath.Join(tmplDir, "data.json")
	for f, c := range map[string]string{tmpl: `{"subject":{{ toJson .Subject }}}`, data: `{"team": "x"}`} {
		if err := os.WriteFile(f, []byte(c), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name  string
		entry string
		args  []string
		want  string
	}{
		{"claims", dev, []string{"dev", "--x509-max-dur", "72h", "--disable-renewal", "--ssh=false"},
			`{"type":"JWK","name":"dev","key":{"kty":"EC","kid":"k1"},"encryptedKey":"e.n.c.k.ey","foo":"bar",` +
				`"claims":{"maxTLSCertDuration":"72h0m0s","enableSSHCA":false,"disableRenewal":true},` +
				`"options":{"x509":{"template":"{}"},"ssh":{},"webhooks":[{"name":"w"}]}}`},
		{"turn a claim off", dev, []string{"dev", "--disable-renewal=false", "--allow-renewal-after-expiry"},
			`{"type":"JWK","name":"dev","key":{"kty":"EC","kid":"k1"},"encryptedKey":"e.n.c.k.ey","foo":"bar",` +
				`"claims":{"maxTLSCertDuration":"48h0m0s","enableSSHCA":true,"disableRenewal":false,"allowRenewalAfterExpiry":true},` +
				`"options":{"x509":{"template":"{}"},"ssh":{},"webhooks":[{"name":"w"}]}}`},
		{"templates", dev, []string{"dev", "--x509-template", tmpl, "--ssh-template-data", data},
			`{"type":"JWK","name":"dev","key":{"kty":"EC","kid":"k1"},"encryptedKey":"e.n.c.k.ey","foo":"bar",` +
				`"claims":{"maxTLSCertDuration":"48h0m0s","enableSSHCA":true,"disableRenewal":false},` +
				`"options":{"x509":{"templateFile":"` + tmpl + `"},"ssh":{"templateData":{"team":"x"}},"webhooks":[{"name":"w"}]}}`},
		{"claims added to an init provisioner", provTestAdmin, []string{"admin", "--ssh-host-max-dur", "1000h"},
			strings.TrimSuffix(provTestAdmin, "}") + `,"claims":{"maxHostSSHCertDuration":"1000h0m0s"}}`},
		{"options added", `{"type":"ACME","name":"acme"}`, []string{"acme", "--ssh-template", tmpl},
			`{"type":"ACME","name":"acme","options":{"x509":{},"ssh":{"templateFile":"` + tmpl + `"}}}`},
		{"no flags rewrites as is", dev, []string{"dev"}, dev},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := provTestEnv(t, "", tt.entry, `{"type":"SSHPOP","name":"sshpop"}`)
			r := provRun(t, append([]string{"update"}, tt.args...)...)
			if r.Code != 0 || r.Stderr != provisionerSuccess+"\n" {
				t.Fatalf("exit %d, stderr %q", r.Code, r.Stderr)
			}
			if got := provEntry(t, path, tt.args[0]); got != tt.want {
				t.Fatalf("entry\n%s\nwant\n%s", got, tt.want)
			}
			if got := provEntry(t, path, "sshpop"); got != `{"type":"SSHPOP","name":"sshpop"}` {
				t.Fatalf("other provisioner changed: %s", got)
			}
		})
	}
}

func TestProvisionerUpdateJWKKey(t *testing.T) {
	jwk, pubPEM := provTestPublicKeyPEM(t)
	pw := provTestFile(t, "pw", []byte("new-pass"))
	tests := []struct {
		name          string
		args          []string
		wantEncrypted bool
	}{
		{"public key drops the encrypted key", []string{"--public-key", provTestFile(t, "k.pub", pubPEM)}, false},
		{"create", []string{"--create", "--password-file", pw}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dev := `{"type":"JWK","name":"dev","key":{"kty":"EC","kid":"old"},"encryptedKey":"old.jwe","claims":{"disableRenewal":true}}`
			path := provTestEnv(t, "", dev)
			r := provRun(t, append([]string{"update", "dev"}, tt.args...)...)
			if r.Code != 0 {
				t.Fatalf("exit %d: %s", r.Code, r.Stderr)
			}
			entry := provEntry(t, path, "dev")
			var e struct {
				Key          *jose.JSONWebKey
				EncryptedKey string
				Claims       json.RawMessage
			}
			if err := json.Unmarshal([]byte(entry), &e); err != nil {
				t.Fatal(err)
			}
			if string(e.Claims) != `{"disableRenewal":true}` || e.Key.KeyID == "old" {
				t.Fatalf("entry %s", entry)
			}
			if !tt.wantEncrypted {
				if e.EncryptedKey != "" || !keyutil.Equal(e.Key.Key, jwk.Key) || e.Key.KeyID != jwk.KeyID {
					t.Fatalf("entry %s, want the PEM key without encryptedKey", entry)
				}
				return
			}
			priv, err := mjose.DecryptJWK(e.EncryptedKey, []byte("new-pass"))
			if err != nil || priv.KeyID != e.Key.KeyID || !keyutil.Equal(priv.Key, e.Key.Key) {
				t.Fatalf("new encryptedKey: %v", err)
			}
			if !strings.HasPrefix(entry, `{"type":"JWK","name":"dev","key":{`) || !strings.Contains(entry, `"encryptedKey":"`+e.EncryptedKey+`","claims"`) {
				t.Fatalf("member order changed: %s", entry)
			}
		})
	}
}

func TestProvisionerUpdateErrors(t *testing.T) {
	_, pubPEM := provTestPublicKeyPEM(t)
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"unknown", []string{"nope", "--disable-renewal"}, "provisioner nope not found\n"},
		{"key flags on ACME", []string{"acme", "--public-key", "@PUB@"}, "do not apply to provisioner acme of type ACME"},
		{"template on SSHPOP", []string{"sshpop", "--x509-template", "@PUB@"}, "not supported by SSHPOP"},
		{"inconsistent claims", []string{"admin", "--x509-min-dur", "48h"}, `provisioner "admin": claims: minTLSCertDuration 48h0m0s is greater than maxTLSCertDuration 24h0m0s`},
		{"bad duration", []string{"admin", "--ssh-user-max-dur=-1h"}, "cannot be negative"},
		{"missing template", []string{"admin", "--x509-template", "/nonexistent/t.tpl"}, "/nonexistent/t.tpl"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := provTestEnv(t, "", provTestAdmin, `{"type":"ACME","name":"acme"}`, `{"type":"SSHPOP","name":"sshpop"}`)
			pub := provTestFile(t, "k.pub", pubPEM)
			args := []string{"update"}
			for _, a := range tt.args {
				args = append(args, strings.ReplaceAll(a, "@PUB@", pub))
			}
			before, _ := os.ReadFile(path)
			r := provRun(t, args...)
			after, _ := os.ReadFile(path)
			if r.Code != 1 || !strings.Contains(r.Stderr, tt.wantErr) || !bytes.Equal(before, after) {
				t.Fatalf("exit %d, stderr %q, changed %v: want exit 1 with %q and the file untouched", r.Code, r.Stderr, !bytes.Equal(before, after), tt.wantErr)
			}
		})
	}
}

func TestJSONObject(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		edit func(o *jsonObject) error
		want string
	}{
		{"round trip keeps order and duplicates' last value", `{"b":1,"a":[1, 2],"b":3}`, func(*jsonObject) error { return nil }, `{"b":3,"a":[1,2]}`},
		{"set replaces in place, case-insensitively", `{"Type":"x","claims":{}}`, func(o *jsonObject) error { return o.set("type", "y", "") }, `{"Type":"y","claims":{}}`},
		{"set inserts after", `{"key":1,"claims":2}`, func(o *jsonObject) error { return o.set("encryptedKey", "e", "key") }, `{"key":1,"encryptedKey":"e","claims":2}`},
		{"set appends without anchor", `{"a":1}`, func(o *jsonObject) error { return o.set("z", true, "missing") }, `{"a":1,"z":true}`},
		{"del", `{"a":1,"b":2,"c":3}`, func(o *jsonObject) error { o.del("B"); return nil }, `{"a":1,"c":3}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o, err := parseJSONObject([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if err := tt.edit(o); err != nil {
				t.Fatal(err)
			}
			b, err := json.Marshal(o)
			if err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			if err := json.Compact(&got, b); err != nil || got.String() != tt.want {
				t.Fatalf("got %s (%v), want %s", got.String(), err, tt.want)
			}
		})
	}
	for _, bad := range []string{`[1]`, `null`, `{"a":}`, `{"a":1`} {
		if _, err := parseJSONObject([]byte(bad)); err == nil {
			t.Fatalf("parseJSONObject(%s) succeeded", bad)
		}
	}
}
