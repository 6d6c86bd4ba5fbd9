package acme_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-chi/chi/v5"

	acmeapi "github.com/mayfly-pki/mayfly/api/acme"
	"github.com/mayfly-pki/mayfly/authority"
	"github.com/mayfly-pki/mayfly/authority/acme"
	at "github.com/mayfly-pki/mayfly/authority/authoritytest"
	"github.com/mayfly-pki/mayfly/db/memory"
	"github.com/mayfly-pki/mayfly/provisioner"
	acmeprov "github.com/mayfly-pki/mayfly/provisioner/acme"
)

// FuzzPOST sends arbitrary bodies to the JWS routes: every answer is a
// client error (nothing panics, nothing is a 5xx), since no body can carry
// a valid nonce.
func FuzzPOST(f *testing.F) {
	st := memory.New()
	env := at.New(f, at.Options{
		Store:            st,
		Registry:         provisioner.Registry{provisioner.TypeACME: acmeprov.New},
		MoreProvisioners: []json.RawMessage{json.RawMessage(`{"type":"ACME","name":"acme"}`)},
	})
	svc := acme.New(acme.Deps{Store: st, Now: env.Clock.Now})
	r := chi.NewRouter()
	acmeapi.New(acmeapi.Deps{Authority: func() *authority.Authority { return env.Authority }, Service: svc}).Mount(r)
	f.Add("new-account", []byte(`{"protected":"eyJhbGciOiJFUzI1NiJ9","payload":"","signature":"AAAA"}`))
	f.Add("new-order", []byte(`{"protected":"e30","payload":"e30","signature":""}`))
	f.Add("finalize", []byte(`eyJhbGciOiJFUzI1NiJ9.e30.AAAA`))
	f.Add("revoke-cert", []byte(`{}`))
	f.Fuzz(func(t *testing.T, route string, body []byte) {
		paths := map[string]string{"new-account": "/acme/acme/new-account", "new-order": "/acme/acme/new-order",
			"finalize": "/acme/acme/order/x/finalize", "revoke-cert": "/acme/acme/revoke-cert"}
		p, ok := paths[route]
		if !ok {
			p = "/acme/acme/key-change"
		}
		w := httptest.NewRecorder()
		r.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "https://ca.example"+p, bytes.NewReader(body)))
		if w.Code < 400 || w.Code >= 500 {
			t.Fatalf("POST %s: status %d %s", p, w.Code, w.Body.Bytes())
		}
	})
}
