package admin

import (
	"crypto"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mayfly-pki/mayfly/authority"
	adm "github.com/mayfly-pki/mayfly/authority/admin"
	"github.com/mayfly-pki/mayfly/authority/authoritytest"
	"github.com/mayfly-pki/mayfly/provisioner/token"
)

type authEnv struct {
	env     *authoritytest.Env
	handler http.Handler
}

func newAuthEnv(t *testing.T) *authEnv {
	t.Helper()
	admins := []*adm.Admin{
		{ID: "a1", ProvisionerID: "prov-admin", Subject: "step", Type: adm.TypeSuper},
		{ID: "a2", ProvisionerID: "prov-admin", Subject: "ops", Type: adm.TypeAdmin},
		{ID: "a3", ProvisionerID: "prov-admin", Subject: "gone", Type: adm.TypeSuper, DeletedAt: time.Unix(1, 0)},
	}
	idx := adm.NewIndex(admins, func(id string) string {
		if id == "prov-admin" {
			return "admin"
		}
		return ""
	})
	env := authoritytest.New(t, authoritytest.Options{Admins: idx})
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, found := FromContext(r.Context())
		if !found {
			t.Error("no admin in context")
			return
		}
		_, _ = w.Write([]byte(a.Admin.ID + " " + a.Subject))
	})
	mw := Middleware(Deps{Authority: func() *authority.Authority { return env.Authority }})
	return &authEnv{env: env, handler: mw(ok)}
}

// token mints an admin token as step does, signed by the key of cert.
func (e *authEnv) token(t *testing.T, cert *x509.Certificate, key crypto.Signer, aud string, mod func(*token.Claims)) string {
	t.Helper()
	now := e.env.Clock.Now()
	id, _ := token.NewID()
	c := &token.Claims{
		Audience: token.Audience{aud}, Issuer: authority.AdminIssuer, Subject: cert.Subject.CommonName, ID: id,
		IssuedAt: token.NewNumericDate(now), NotBefore: token.NewNumericDate(now), Expiry: token.NewNumericDate(now.Add(5 * time.Minute)),
	}
	if mod != nil {
		mod(c)
	}
	return authoritytest.X5CToken(t, c, []*x509.Certificate{cert, e.env.PKI.Intermediate}, key, "")
}

func (e *authEnv) do(method, path, tok string) (int, string) {
	r := httptest.NewRequest(method, path, nil)
	if tok != "" {
		r.Header.Set("Authorization", tok)
	}
	w := httptest.NewRecorder()
	e.handler.ServeHTTP(w, r)
	return w.Code, w.Body.String()
}

func message(t *testing.T, body string) string {
	t.Helper()
	var e Error
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("error body %q: %v", body, err)
	}
	return e.Message
}

func TestMiddlewareAcceptsSuperAdminOnce(t *testing.T) {
	e := newAuthEnv(t)
	cert, key := e.env.Issue(t, "step", 0)
	tok := e.token(t, cert, key, authoritytest.CAURL+"/admin/admins", nil)
	code, body := e.do("POST", "/admin/admins", tok)
	if code != 200 || body != "a1 step" {
		t.Fatalf("first use: %d %s", code, body)
	}
	code, body = e.do("POST", "/admin/admins", tok)
	if code != 401 || !strings.Contains(message(t, body), "token already used") {
		t.Fatalf("replay: %d %s", code, body)
	}
}

func TestMiddlewareRefusals(t *testing.T) {
	e := newAuthEnv(t)
	step, stepKey := e.env.Issue(t, "step", 0)
	ops, opsKey := e.env.Issue(t, "ops", 0)
	mallory, malKey := e.env.Issue(t, "mallory", 0)
	gone, goneKey := e.env.Issue(t, "gone", 0)
	foreign := authoritytest.NewPKI(t, e.env.Clock.Now(), 24*time.Hour)
	fcert, fkey := foreign.IssueLeaf(t, authoritytest.Leaf{CommonName: "step"})
	aud := authoritytest.CAURL + "/admin/provisioners"
	cases := []struct {
		name, method, path, tok, want string
	}{
		{"no token", "GET", "/admin/provisioners", "", "missing authorization header token"},
		{"garbage", "GET", "/admin/provisioners", "not-a-jwt", "error parsing x5c token"},
		{"not an admin", "GET", "/admin/provisioners", e.token(t, mallory, malKey, aud, nil), "unable to load admin with subject(s) [mallory mallory] and provisioner 'admin'"},
		{"deleted admin", "GET", "/admin/provisioners", e.token(t, gone, goneKey, aud, nil), "unable to load admin"},
		{"foreign root", "GET", "/admin/provisioners", e.token(t, fcert, fkey, aud, nil), "error verifying x5c certificate chain"},
		{"wrong audience", "GET", "/admin/provisioners", e.token(t, step, stepKey, authoritytest.CAURL+"/admin/admins", nil), "invalid audience claim"},
		{"other host", "GET", "/admin/provisioners", e.token(t, step, stepKey, "https://evil.example/admin/provisioners", nil), "invalid audience claim"},
		{"wrong issuer", "GET", "/admin/provisioners", e.token(t, step, stepKey, aud, func(c *token.Claims) { c.Issuer = "someone" }), "invalid issuer claim"},
		{"no subject", "GET", "/admin/provisioners", e.token(t, step, stepKey, aud, func(c *token.Claims) { c.Subject = "" }), "subject cannot be empty"},
		{"expired", "GET", "/admin/provisioners", e.token(t, step, stepKey, aud, func(c *token.Claims) {
			c.Expiry = token.NewNumericDate(e.env.Clock.Now().Add(-2 * time.Minute))
		}), "invalid x5c claims"},
		{"admin changes admins", "DELETE", "/admin/admins/a1", e.token(t, ops, opsKey, authoritytest.CAURL+"/admin/admins/a1", nil), "must have super admin access"},
	}
	for _, c := range cases {
		code, body := e.do(c.method, c.path, c.tok)
		if code != 401 || !strings.Contains(message(t, body), c.want) {
			t.Errorf("%s: %d %s, want 401 with %q", c.name, code, body, c.want)
		}
	}
	// A plain admin may read admins, and the bare path is an accepted audience.
	if code, body := e.do("GET", "/admin/admins", e.token(t, ops, opsKey, "/admin/admins", nil)); code != 200 || body != "a2 ops" {
		t.Errorf("admin GET /admin/admins: %d %s", code, body)
	}
}

func TestMiddlewareAdminOff(t *testing.T) {
	env := authoritytest.New(t, authoritytest.Options{})
	h := Middleware(Deps{Authority: func() *authority.Authority { return env.Authority }})(http.NotFoundHandler())
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/admin/admins", nil))
	if w.Code != http.StatusNotImplemented {
		t.Fatalf("status %d", w.Code)
	}
}
