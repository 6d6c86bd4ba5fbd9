package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mayfly-pki/mayfly/api/wire"
	mjose "github.com/mayfly-pki/mayfly/internal/jose"
	"github.com/mayfly-pki/mayfly/provisioner/token"
)

// adminArgs are the admin API credentials of the first super admin: a
// certificate for "step" issued by the "admin" provisioner for each call.
func adminArgs(pw string) []string {
	return []string{"--admin-subject", "step", "--admin-provisioner", "admin", "--admin-password-file", pw}
}

// adminHTTP calls the admin API directly with a token signed by the
// certificate and key in crtFile and keyFile (a bundle with its chain).
type adminHTTP struct {
	t       *testing.T
	baseURL string
	hc      *http.Client
	chain   []*x509.Certificate
	keyFile string
}

func newAdminHTTP(t *testing.T, p *testPKI, crtFile, keyFile string) *adminHTTP {
	pool := x509.NewCertPool()
	pool.AddCert(p.root)
	return &adminHTTP{t: t, baseURL: p.url, chain: readCerts(t, crtFile), keyFile: keyFile,
		hc: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}}
}

// token mints an admin token for path as step does.
func (a *adminHTTP) token(path string) string {
	t := a.t
	jwk, err := mjose.NewSigningJWK(readKey(t, a.keyFile))
	if err != nil {
		t.Fatal(err)
	}
	jti, _ := token.NewID()
	now := time.Now()
	x5c := make([]string, len(a.chain))
	for i, c := range a.chain {
		x5c[i] = base64.StdEncoding.EncodeToString(c.Raw)
	}
	tok, err := token.Sign(jwk, &token.Claims{
		Audience: token.Audience{a.baseURL + path}, Issuer: "step-admin-client/1.0", Subject: a.chain[0].Subject.CommonName, ID: jti,
		IssuedAt: token.NewNumericDate(now), NotBefore: token.NewNumericDate(now), Expiry: token.NewNumericDate(now.Add(5 * time.Minute)),
	}, map[string]any{"x5c": x5c})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// do sends one request with tok and returns the status and the message of
// an error body (or the whole body).
func (a *adminHTTP) do(method, path, tok, body string) (int, string) {
	req, err := http.NewRequest(method, a.baseURL+path, strings.NewReader(body))
	if err != nil {
		a.t.Fatal(err)
	}
	req.Header.Set("Authorization", tok)
	resp, err := a.hc.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var e struct {
		Message string `json:"message"`
	}
	if resp.StatusCode >= 400 && json.Unmarshal(b, &e) == nil {
		return resp.StatusCode, e.Message
	}
	return resp.StatusCode, string(b)
}

// TestAdminRemoteManagement runs `step ca init --remote-management`, then
// manages provisioners and admins through the admin API with our step, and
// checks the refusals: a non-admin certificate, a replayed token, a
// provisioner that would not load, the last super admin's removal, a plain
// admin changing admins; each changes nothing.
func TestAdminRemoteManagement(t *testing.T) {
	t.Parallel()
	needBinaries(t)
	base := t.TempDir()
	p := &testPKI{caPath: filepath.Join(base, "ca")}
	p.addr, p.port = freeAddr(t)
	p.url = "https://localhost:" + p.port
	p.op = newUser(t, p.caPath)
	p.pwFile = p.op.writeFile(t, "password.txt", passwordFileText, 0o600)
	r := p.op.ok(t, append(p.initArgs(), "--remote-management")...)
	for _, want := range []string{"✔ Admin provisioner: admin (JWK)", "✔ Super admin subject: step"} {
		if !strings.Contains(r.stderr, want) {
			t.Fatalf("init output lacks %q:\n%s", want, r)
		}
	}
	var cfg struct {
		Authority map[string]json.RawMessage `json:"authority"`
	}
	if err := json.Unmarshal(readFile(t, p.configPath()), &cfg); err != nil {
		t.Fatal(err)
	}
	if string(cfg.Authority["enableAdmin"]) != "true" || cfg.Authority["provisioners"] != nil {
		t.Fatalf("ca.json authority = %v, want enableAdmin and no provisioners", cfg.Authority)
	}
	p.root = readCerts(t, filepath.Join(p.caPath, "certs", "root_ca.crt"))[0]
	p.fp = fingerprint(p.root)
	ca := p.start(t)
	waitUntilAfterSecond(time.Now())
	u := p.client(t)
	pw := u.path("password.txt")
	adm := adminArgs(pw)

	t.Run("the stored provisioner serves and step lists the super admin", func(t *testing.T) {
		u.ok(t, "ca", "certificate", "a.example.com", u.path("a.crt"), u.path("a.key"), "--provisioner", "admin", "--provisioner-password-file", pw)
		out := u.ok(t, append([]string{"ca", "admin", "list"}, adm...)...).stdout
		if !strings.Contains(out, "SUBJECT") || !strings.Contains(out, "step") || !strings.Contains(out, "admin (JWK)") || !strings.Contains(out, "SUPER_ADMIN") {
			t.Fatalf("admin list:\n%s", out)
		}
	})
	t.Run("provisioner add, use, update and remove", func(t *testing.T) {
		u.ok(t, append([]string{"ca", "provisioner", "add", "dev", "--type", "JWK", "--create", "--password-file", pw}, adm...)...)
		list := u.ok(t, "ca", "provisioner", "list").stdout
		if !strings.Contains(list, `"dev"`) {
			t.Fatalf("provisioner list lacks dev:\n%s", list)
		}
		u.ok(t, "ca", "certificate", "dev.example.com", u.path("dev.crt"), u.path("dev.key"), "--provisioner", "dev", "--provisioner-password-file", pw)
		u.ok(t, append([]string{"ca", "provisioner", "update", "dev", "--x509-max-dur", "1h", "--x509-default-dur", "30m"}, adm...)...)
		u.ok(t, "ca", "certificate", "dev2.example.com", u.path("dev2.crt"), u.path("dev2.key"), "--provisioner", "dev", "--provisioner-password-file", pw)
		c := readCerts(t, u.path("dev2.crt"))[0]
		if life := c.NotAfter.Sub(c.NotBefore); life > time.Hour {
			t.Fatalf("certificate of the updated provisioner lives %s, want at most 1h", life)
		}
		u.ok(t, append([]string{"ca", "provisioner", "remove", "dev"}, adm...)...)
		u.fails(t, "ca", "certificate", "dev3.example.com", u.path("dev3.crt"), u.path("dev3.key"), "--provisioner", "dev", "--provisioner-password-file", pw)
		mustNotExist(t, u.path("dev3.crt"))
	})
	t.Run("admin add, update and refusals", func(t *testing.T) {
		out := u.ok(t, append([]string{"ca", "admin", "add", "ops@example.com", "admin"}, adm...)...).stdout
		if !strings.Contains(out, "ops@example.com") || !strings.Contains(out, "ADMIN") {
			t.Fatalf("admin add:\n%s", out)
		}
		// A plain admin may list but not change admins.
		ops := []string{"--admin-subject", "ops@example.com", "--admin-provisioner", "admin", "--admin-password-file", pw}
		u.ok(t, append([]string{"ca", "admin", "list"}, ops...)...)
		r := u.fails(t, append([]string{"ca", "admin", "add", "eve@example.com", "admin", "--super"}, ops...)...)
		if !strings.Contains(r.stderr, "must have super admin access to make this request") {
			t.Fatalf("a plain admin adding an admin:\n%s", r)
		}
		// The last super admin cannot go.
		r = u.fails(t, append([]string{"ca", "admin", "remove", "step"}, adm...)...)
		if !strings.Contains(r.stderr, "cannot remove the last super admin") {
			t.Fatalf("removing the last super admin:\n%s", r)
		}
		r = u.fails(t, append([]string{"ca", "admin", "update", "step", "--super=false"}, adm...)...)
		if !strings.Contains(r.stderr, "last super admin") {
			t.Fatalf("demoting the last super admin:\n%s", r)
		}
		// A second super admin makes the first removable.
		u.ok(t, append([]string{"ca", "admin", "update", "ops@example.com", "--super"}, adm...)...)
		list := u.ok(t, append([]string{"ca", "admin", "list", "--super"}, adm...)...).stdout
		if !strings.Contains(list, "ops@example.com") || !strings.Contains(list, "step ") {
			t.Fatalf("super admins:\n%s", list)
		}
	})
	t.Run("non-admin certificate, replayed token, a provisioner that would not load", func(t *testing.T) {
		// A certificate of the admin provisioner, for a subject that is no admin.
		u.ok(t, "ca", "certificate", "mallory", u.path("mallory.crt"), u.path("mallory.key"), "--provisioner", "admin", "--provisioner-password-file", pw)
		r := u.fails(t, "ca", "admin", "list", "--admin-cert", u.path("mallory.crt"), "--admin-key", u.path("mallory.key"))
		if !strings.Contains(r.stderr, "unable to load admin with subject(s) [mallory mallory] and provisioner 'admin'") {
			t.Fatalf("non-admin certificate:\n%s", r)
		}
		// A certificate of the super admin "step", used directly.
		u.ok(t, "ca", "certificate", "step", u.path("step.crt"), u.path("step.key"), "--provisioner", "admin", "--provisioner-password-file", pw)
		h := newAdminHTTP(t, p, u.path("step.crt"), u.path("step.key"))
		tok := h.token("/admin/admins")
		if code, body := h.do("GET", "/admin/admins", tok, ""); code != 200 {
			t.Fatalf("first use of the token: %d %s", code, body)
		}
		if code, msg := h.do("GET", "/admin/admins", tok, ""); code != 401 || !strings.Contains(msg, "token already used") {
			t.Fatalf("replayed token: %d %q, want 401 token already used", code, msg)
		}
		// A JWK provisioner whose key is not a key.
		bad := `{"type":"JWK","name":"broken","details":{"JWK":{"publicKey":"` + base64.StdEncoding.EncodeToString([]byte(`{"kty":"EC","crv":"P-256"}`)) + `"}}}`
		code, msg := h.do("POST", "/admin/provisioners", h.token("/admin/provisioners"), bad)
		if code != 400 || !strings.Contains(msg, "provisioner broken would not load") {
			t.Fatalf("a provisioner that would not load: %d %q", code, msg)
		}
		code, body := h.do("GET", "/admin/provisioners/broken", h.token("/admin/provisioners/broken"), "")
		if code != 404 {
			t.Fatalf("the refused provisioner was stored: %d %s", code, body)
		}
		var list wire.AdminProvisionersResponse
		code, body = h.do("GET", "/admin/provisioners", h.token("/admin/provisioners"), "")
		if code != 200 || json.Unmarshal([]byte(body), &list) != nil || len(list.Provisioners) != 1 || list.Provisioners[0].Name != "admin" {
			t.Fatalf("provisioners after the refusals: %d %s", code, body)
		}
	})
	t.Run("authority policy through /admin/policy", func(t *testing.T) {
		u.ok(t, "ca", "certificate", "step", u.path("super.crt"), u.path("super.key"), "--provisioner", "admin", "--provisioner-password-file", pw)
		h := newAdminHTTP(t, p, u.path("super.crt"), u.path("super.key"))
		if code, msg := h.do("GET", "/admin/policy", h.token("/admin/policy"), ""); code != 404 || msg != "authority policy does not exist" {
			t.Fatalf("GET without a policy: %d %q", code, msg)
		}
		deny := `{"x509":{"allow":{"dns":["*.example.com","step","mallory"]},"deny":{"dns":["*.denied.example.com"]}}}`
		if code, body := h.do("POST", "/admin/policy", h.token("/admin/policy"), deny); code != 201 || !strings.Contains(body, "denied.example.com") {
			t.Fatalf("POST policy: %d %s", code, body)
		}
		r := u.fails(t, "ca", "certificate", "x.denied.example.com", u.path("d.crt"), u.path("d.key"), "--provisioner", "admin", "--provisioner-password-file", pw)
		mustNotExist(t, u.path("d.crt"))
		if !strings.Contains(r.stderr, "denied.example.com") {
			t.Fatalf("certificate for a denied name:\n%s", r)
		}
		u.ok(t, "ca", "certificate", "ok.example.com", u.path("ok.crt"), u.path("ok.key"), "--provisioner", "admin", "--provisioner-password-file", pw)
		if code, msg := h.do("POST", "/admin/policy", h.token("/admin/policy"), deny); code != 409 || msg != "authority already has a policy" {
			t.Fatalf("second POST: %d %q", code, msg)
		}
		// A rule the engine refuses changes nothing.
		if code, msg := h.do("PUT", "/admin/policy", h.token("/admin/policy"), `{"x509":{"allow":{"dns":["*.*.example.com"]}}}`); code != 400 {
			t.Fatalf("PUT of an invalid policy: %d %q", code, msg)
		}
		if code, body := h.do("GET", "/admin/policy", h.token("/admin/policy"), ""); code != 200 || !strings.Contains(body, "denied.example.com") {
			t.Fatalf("policy after the refused PUT: %d %s", code, body)
		}
		if code, body := h.do("DELETE", "/admin/policy", h.token("/admin/policy"), ""); code != 200 {
			t.Fatalf("DELETE policy: %d %s", code, body)
		}
		u.ok(t, "ca", "certificate", "x.denied.example.com", u.path("d.crt"), u.path("d.key"), "--provisioner", "admin", "--provisioner-password-file", pw)
	})
	t.Run("provisioner webhooks through the admin API", func(t *testing.T) {
		u.ok(t, "ca", "certificate", "step", u.path("hooks.crt"), u.path("hooks.key"), "--provisioner", "admin", "--provisioner-password-file", pw)
		testAdminWebhooks(t, p, u, newAdminHTTP(t, p, u.path("hooks.crt"), u.path("hooks.key")), pw)
	})
	ca.stop(t)
	// The admin tables survive a restart, and SIGHUP keeps the stored
	// provisioners (admin and hooked) with ca.json's (none).
	ca = p.start(t)
	waitUntilAfterSecond(time.Now())
	out := u.ok(t, append([]string{"ca", "admin", "list"}, adm...)...).stdout
	if !strings.Contains(out, "ops@example.com") {
		t.Fatalf("admins after a restart:\n%s", out)
	}
	mark := ca.log.mark()
	ca.signal(t, syscall.SIGHUP)
	ca.waitLog(t, mark, "reloaded")
	ca.expectLog(t, mark, ": 2 provisioners", "SIGHUP did not keep the stored provisioners")
	u.ok(t, "ca", "certificate", "after-hup.example.com", u.path("hup.crt"), u.path("hup.key"), "--provisioner", "hooked", "--provisioner-password-file", pw)
	if _, err := os.Stat(filepath.Join(p.caPath, "db")); err != nil {
		t.Fatal(err)
	}
}
