package e2e

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/mayfly-pki/mayfly/api/wire"
)

// hookServer is an AUTHORIZING webhook that refuses deny.example.com and
// checks each call's signature with the secret it is given.
type hookServer struct {
	*httptest.Server
	secret    atomic.Pointer[[]byte]
	calls     atomic.Int32
	badSigned atomic.Int32
}

func newHookServer(t *testing.T) *hookServer {
	h := &hookServer{}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		h.calls.Add(1)
		if key := h.secret.Load(); key != nil {
			mac := hmac.New(sha256.New, *key)
			mac.Write(body)
			if r.Header.Get("X-Smallstep-Signature") != hex.EncodeToString(mac.Sum(nil)) {
				h.badSigned.Add(1)
			}
		}
		allow := !strings.Contains(string(body), "deny.example.com")
		_ = json.NewEncoder(w).Encode(map[string]any{"allow": allow})
	}))
	t.Cleanup(h.Close)
	return h
}

// testAdminWebhooks: a webhook added to a stored provisioner through the
// admin API is called with the secret the CA made (returned once, never
// shown again), survives `step ca provisioner update`, and is removed.
func testAdminWebhooks(t *testing.T, p *testPKI, u *user, h *adminHTTP, pw string) {
	hook := newHookServer(t)
	u.ok(t, append([]string{"ca", "provisioner", "add", "hooked", "--type", "JWK", "--create", "--password-file", pw}, adminArgs(pw)...)...)
	body := `{"name":"gate","url":"` + hook.URL + `","kind":"AUTHORIZING","certType":"X509"}`
	add := u.ok(t, append([]string{"ca", "provisioner", "webhook", "add", "hooked", "gate", "--url", hook.URL, "--kind", "AUTHORIZING", "--cert-type", "X509"}, adminArgs(pw)...)...).stdout
	var created wire.Webhook
	for _, line := range strings.Split(add, "\n") {
		if v, ok := strings.CutPrefix(line, "Webhook ID: "); ok {
			created.ID = v
		}
		if v, ok := strings.CutPrefix(line, "Webhook Secret: "); ok {
			created.Secret = v
		}
	}
	if created.Secret == "" || created.ID == "" {
		t.Fatalf("webhook add printed:\n%s", add)
	}
	key, err := base64.StdEncoding.DecodeString(created.Secret)
	if err != nil {
		t.Fatal(err)
	}
	hook.secret.Store(&key)
	if code, msg := h.do("POST", "/admin/provisioners/hooked/webhooks", h.token("/admin/provisioners/hooked/webhooks"), body); code != 409 {
		t.Fatalf("second webhook with the same name: %d %q", code, msg)
	}
	cert := func(name string) result {
		return u.run("ca", "certificate", name, u.path(name+".crt"), u.path(name+".key"), "--provisioner", "hooked", "--provisioner-password-file", pw, "--force")
	}
	check := func(stage string) {
		t.Helper()
		if r := cert("deny.example.com"); r.code == 0 || !strings.Contains(r.stderr, "webhook server did not allow request") {
			t.Fatalf("%s: the webhook did not refuse deny.example.com:\n%s", stage, r)
		}
		if r := cert("allow.example.com"); r.code != 0 {
			t.Fatalf("%s: allow.example.com refused:\n%s", stage, r)
		}
		if hook.calls.Load() == 0 || hook.badSigned.Load() != 0 {
			t.Fatalf("%s: %d webhook calls, %d with a bad signature", stage, hook.calls.Load(), hook.badSigned.Load())
		}
	}
	check("after POST")
	// Reads never show the secret.
	code, out := h.do("GET", "/admin/provisioners/hooked", h.token("/admin/provisioners/hooked"), "")
	if code != 200 || !strings.Contains(out, `"gate"`) || strings.Contains(out, created.Secret) {
		t.Fatalf("GET provisioner: %d %s", code, out)
	}
	// A CLI update (read, edit, write back the redacted form) keeps it.
	u.ok(t, append([]string{"ca", "provisioner", "update", "hooked", "--x509-max-dur", "48h"}, adminArgs(pw)...)...)
	check("after provisioner update")
	u.ok(t, append([]string{"ca", "provisioner", "webhook", "update", "hooked", "gate", "--url", hook.URL + "/v2"}, adminArgs(pw)...)...)
	code, out = h.do("GET", "/admin/provisioners/hooked", h.token("/admin/provisioners/hooked"), "")
	if code != 200 || !strings.Contains(out, hook.URL+"/v2") || strings.Contains(out, created.Secret) {
		t.Fatalf("GET after webhook update: %d %s", code, out)
	}
	check("after webhook update")
	u.ok(t, append([]string{"ca", "provisioner", "webhook", "remove", "hooked", "gate"}, adminArgs(pw)...)...)
	if r := cert("deny.example.com"); r.code != 0 {
		t.Fatalf("the deleted webhook still refuses:\n%s", r)
	}
	if code, msg := h.do("POST", "/admin/provisioners/nope/webhooks", h.token("/admin/provisioners/nope/webhooks"), body); code != 404 || msg != "provisioner nope not found" {
		t.Fatalf("webhook on a missing provisioner: %d %q", code, msg)
	}
}
