package admin

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/mayfly-pki/mayfly/authority"
	adm "github.com/mayfly-pki/mayfly/authority/admin"
	"github.com/mayfly-pki/mayfly/authority/authoritytest"
	"github.com/mayfly-pki/mayfly/db/memory"
)

func TestEABRoutes(t *testing.T) {
	st := memory.New()
	idx := adm.NewIndex([]*adm.Admin{{ID: "a1", ProvisionerID: "prov-admin", Subject: "step", Type: adm.TypeSuper}},
		func(id string) string {
			if id == "prov-admin" {
				return "admin"
			}
			return ""
		})
	env := authoritytest.New(t, authoritytest.Options{Admins: idx, MoreProvisioners: []json.RawMessage{
		json.RawMessage(`{"type":"ACME","name":"acme","requireEAB":true}`),
		json.RawMessage(`{"type":"ACME","name":"open"}`),
	}})
	svc := adm.New(adm.Deps{Store: st})
	r := chi.NewRouter()
	NewHandler(Deps{Authority: func() *authority.Authority { return env.Authority }}, svc).WithEAB(st).Mount(r)
	e := &authEnv{env: env, handler: r}
	cert, key := env.Issue(t, "step", 0)
	call := func(method, path, body string) (int, string) {
		t.Helper()
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Authorization", e.token(t, cert, key, authoritytest.CAURL+path, nil))
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		return w.Code, w.Body.String()
	}
	code, body := call("POST", "/admin/acme/eab/acme", `{"reference":"host-1"}`)
	var k EABKey
	if code != 201 || json.Unmarshal([]byte(body), &k) != nil || len(k.HMACKey) != 32 || k.Reference != "host-1" || k.Provisioner != "acme" {
		t.Fatalf("create: %d %s", code, body)
	}
	if code, body := call("POST", "/admin/acme/eab/acme", `{"reference":"host-1"}`); code != 409 ||
		!strings.Contains(body, "an ACME EAB key for provisioner 'acme' with reference 'host-1' already exists") {
		t.Fatalf("same reference: %d %s", code, body)
	}
	if code, body := call("POST", "/admin/acme/eab/acme", `{}`); code != 201 {
		t.Fatalf("no reference: %d %s", code, body)
	}
	for path, want := range map[string]string{
		"/admin/acme/eab/open":  "ACME EAB not enabled for provisioner open",
		"/admin/acme/eab/admin": "provisioner admin is not an ACME provisioner",
	} {
		if code, body := call("POST", path, `{}`); code != 400 || !strings.Contains(body, want) {
			t.Errorf("POST %s: %d %s", path, code, body)
		}
	}
	code, body = call("GET", "/admin/acme/eab/acme", "")
	var list EABKeysResponse
	if code != 200 || json.Unmarshal([]byte(body), &list) != nil || len(list.EAKs) != 2 || strings.Contains(body, "hmacKey") {
		t.Fatalf("list: %d %s", code, body)
	}
	code, body = call("GET", "/admin/acme/eab/acme/host-1", "")
	if code != 200 || json.Unmarshal([]byte(body), &list) != nil || len(list.EAKs) != 1 || list.EAKs[0].ID != k.ID {
		t.Fatalf("list by reference: %d %s", code, body)
	}
	if code, body := call("DELETE", "/admin/acme/eab/acme/"+k.ID, ""); code != 200 {
		t.Fatalf("delete: %d %s", code, body)
	}
	if code, body := call("DELETE", "/admin/acme/eab/acme/"+k.ID, ""); code != 404 {
		t.Fatalf("delete again: %d %s", code, body)
	}
}
