package e2e

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
)

// TestWebhooks: the admin provisioner's ca.json entry, edited as an
// operator would, has an ENRICHING webhook whose data the template puts in
// the OU, and an AUTHORIZING webhook that denies deny.example.com. The
// webhook server, on loopback, checks every request's
// X-Smallstep-Signature (hex HMAC-SHA256 of the body with the secret) and
// X-Smallstep-Webhook-ID.
func TestWebhooks(t *testing.T) {
	t.Parallel()
	secret := []byte("e2e webhook secret")
	var mu sync.Mutex
	var calls []string
	var bad []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mac := hmac.New(sha256.New, secret)
		mac.Write(b)
		var body struct {
			ProvisionerName string `json:"provisionerName"`
			CR              *struct {
				Subject struct {
					CommonName string `json:"commonName"`
				} `json:"subject"`
			} `json:"x509CertificateRequest"`
			Cert *struct {
				Subject struct {
					CommonName string `json:"commonName"`
				} `json:"subject"`
			} `json:"x509Certificate"`
		}
		err := json.Unmarshal(b, &body)
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, r.URL.Path)
		switch {
		case r.Header.Get("X-Smallstep-Signature") != hex.EncodeToString(mac.Sum(nil)):
			bad = append(bad, "bad signature on "+r.URL.Path)
		case r.Header.Get("X-Smallstep-Webhook-ID") != "id-"+strings.TrimPrefix(r.URL.Path, "/"):
			bad = append(bad, "bad webhook ID "+r.Header.Get("X-Smallstep-Webhook-ID"))
		case err != nil || body.ProvisionerName != "admin":
			bad = append(bad, "bad body "+string(b))
		case r.URL.Path == "/people" && body.CR != nil:
			io.WriteString(w, `{"allow": true, "data": {"role": "eng-`+body.CR.Subject.CommonName+`"}}`)
			return
		case r.URL.Path == "/gate" && body.Cert != nil:
			io.WriteString(w, `{"allow": `+boolJSON(body.Cert.Subject.CommonName != "deny.example.com")+`}`)
			return
		default:
			bad = append(bad, "unexpected request "+r.URL.Path+" "+string(b))
		}
		http.Error(w, "bad request", http.StatusBadRequest)
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, b := range bad {
			t.Errorf("webhook server: %s", b)
		}
	})

	p := initPKI(t)
	enc := base64.StdEncoding.EncodeToString(secret)
	setOptions(t, p.configPath(), map[string]any{
		"x509": map[string]any{"template": `{"subject": {"commonName": {{ toJson .Subject.CommonName }}, "organizationalUnit": {{ toJson .Webhooks.people.role }}}, "sans": {{ toJson .SANs }}}`},
		"webhooks": []any{
			map[string]any{"id": "id-people", "name": "people", "url": srv.URL + "/people", "kind": "ENRICHING", "certType": "X509", "secret": enc},
			map[string]any{"id": "id-gate", "name": "gate", "url": srv.URL + "/gate", "kind": "AUTHORIZING", "secret": enc, "bearerToken": "tok"},
		},
	})
	if r := p.op.stepCA(p.configPath(), "--validate-config"); r.code != 0 || r.err != nil {
		t.Fatalf("--validate-config:\n%s", r)
	}
	p.start(t)
	u := p.client(t)
	pw := u.path("password.txt")

	crt := u.path("ok.crt")
	u.ok(t, "ca", "certificate", "ok.example.com", crt, u.path("ok.key"), "--provisioner", "admin", "--provisioner-password-file", pw)
	c := readCerts(t, crt)[0]
	if ou := c.Subject.OrganizationalUnit; len(ou) != 1 || ou[0] != "eng-ok.example.com" {
		t.Fatalf("OU = %v, want the enriching webhook's role", ou)
	}
	mu.Lock()
	if strings.Join(calls, " ") != "/people /gate" {
		t.Errorf("webhook calls %v, want enrich then authorize", calls)
	}
	mu.Unlock()

	r := u.fails(t, "ca", "certificate", "deny.example.com", u.path("deny.crt"), u.path("deny.key"), "--provisioner", "admin", "--provisioner-password-file", pw)
	if !strings.Contains(r.stderr, "webhook server did not allow request") {
		t.Fatalf("denied request:\n%s", r)
	}
	t.Logf("denied: %s", strings.TrimSpace(r.stderr))
	mustNotExist(t, u.path("deny.crt"))

	// /provisioners shows the webhooks without their secrets.
	list := u.ok(t, "ca", "provisioner", "list").stdout
	if !strings.Contains(list, `"name": "people"`) || strings.Contains(list, enc) || strings.Contains(list, "tok") {
		t.Fatalf("provisioner list:\n%s", list)
	}
}

// TestWebhooksHTTPS: step-ca's quickstart. The webhook server's certificate
// comes from the CA itself (`step ca certificate localhost webhook.crt
// webhook.key`); step-ca trusts its own roots for webhooks besides the
// system's, so the call succeeds and the ENRICHING data reaches the
// template through the URL template {{ .Token.sub }}.
func TestWebhooksHTTPS(t *testing.T) {
	t.Parallel()
	p := initPKI(t)
	ca := p.start(t)
	u := p.client(t)
	pw := u.path("password.txt")
	whCrt, whKey := u.path("webhook.crt"), u.path("webhook.key")
	u.ok(t, "ca", "certificate", "localhost", whCrt, whKey, "--provisioner", "admin", "--provisioner-password-file", pw)
	cert, err := tls.LoadX509KeyPair(whCrt, whKey)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var paths []string
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.URL.Path)
		mu.Unlock()
		io.WriteString(w, `{"allow": true, "data": {"role": "ops"}}`)
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	ca.stop(t)

	setOptions(t, p.configPath(), map[string]any{
		"x509": map[string]any{"template": `{"subject": {"commonName": {{ toJson .Subject.CommonName }}, "organizationalUnit": {{ toJson .Webhooks.people.role }}}, "sans": {{ toJson .SANs }}}`},
		"webhooks": []any{map[string]any{"id": "1", "name": "people", "kind": "ENRICHING",
			"url": "https://localhost:" + port + "/people/{{ .Token.sub }}"}},
	})
	p.start(t)
	crt := u.path("svc.crt")
	u.ok(t, "ca", "certificate", "svc.example.com", crt, u.path("svc.key"), "--provisioner", "admin", "--provisioner-password-file", pw)
	if ou := readCerts(t, crt)[0].Subject.OrganizationalUnit; len(ou) != 1 || ou[0] != "ops" {
		t.Fatalf("OU = %v, want ops", ou)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(paths) != 1 || paths[0] != "/people/svc.example.com" {
		t.Fatalf("webhook paths %v", paths)
	}
}

func boolJSON(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// setOptions sets the options of the first provisioner in the ca.json at
// path, as an operator editing the file would.
func setOptions(t *testing.T, path string, options map[string]any) {
	t.Helper()
	var cfg map[string]any
	dec := json.NewDecoder(bytes.NewReader(readFile(t, path)))
	dec.UseNumber()
	if err := dec.Decode(&cfg); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	auth, _ := cfg["authority"].(map[string]any)
	provs, _ := auth["provisioners"].([]any)
	if len(provs) == 0 {
		t.Fatalf("%s has no provisioners", path)
	}
	provs[0].(map[string]any)["options"] = options
	out, err := json.MarshalIndent(cfg, "", "\t")
	if err != nil {
		t.Fatalf("encode %s: %v", path, err)
	}
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
}

// TestWebhookConfigError: a provisioner with a webhook of an unknown kind
// is disabled with a warning naming the JSON path (fail closed: a typo in
// an AUTHORIZING webhook never issues unchecked); the CA still serves.
func TestWebhookConfigError(t *testing.T) {
	t.Parallel()
	p := initPKI(t)
	setOptions(t, p.configPath(), map[string]any{"webhooks": []any{
		map[string]any{"name": "w", "url": "https://127.0.0.1:1/", "kind": "AUTHORISING", "secret": "c2VjcmV0LXNlY3JldA==", "bearerToken": "bearer-bearer"},
	}})
	ca := p.start(t)
	ca.waitLog(t, 0, `options.webhooks[0].kind: unsupported kind \"AUTHORISING\"`)
	u := p.client(t)
	r := u.fails(t, "ca", "certificate", "a.example.com", u.path("a.crt"), u.path("a.key"),
		"--provisioner", "admin", "--provisioner-password-file", u.path("password.txt"))
	if !strings.Contains(r.stderr, "The request lacked necessary authorization") {
		t.Fatalf("disabled provisioner:\n%s", r)
	}
	mustNotExist(t, u.path("a.crt"))
	// Listed as Uninitialized, without the secrets.
	list := u.ok(t, "ca", "provisioner", "list").stdout
	if !strings.Contains(list, "Uninitialized") || !strings.Contains(list, "AUTHORISING") ||
		strings.Contains(list, "c2VjcmV0LXNlY3JldA==") || strings.Contains(list, "bearer-bearer") {
		t.Fatalf("provisioner list:\n%s", list)
	}
}
