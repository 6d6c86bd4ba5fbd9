// Package azuretest fakes Azure for tests: a tenant's OpenID discovery and
// keys on loopback, access tokens of a virtual machine's managed identity
// signed by its key, and the instance metadata service's token endpoint.
package azuretest

import (
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/mayfly-pki/mayfly/provisioner/gcp/gcptest"
)

// Tenant is a fake Azure AD tenant; Server serves
// /<tenant>/.well-known/openid-configuration and /<tenant>/keys.
type Tenant struct {
	ID     string
	Key    *rsa.PrivateKey
	KID    string
	Server *httptest.Server
}

// New starts a fake tenant, stopped at cleanup.
func New(t testing.TB, id string) *Tenant {
	t.Helper()
	tn := &Tenant{ID: id, Key: gcptest.NewKey(t), KID: "azure-test-kid"}
	tn.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/" + id + "/.well-known/openid-configuration":
			_ = json.NewEncoder(w).Encode(map[string]any{
				"issuer": "https://sts.windows.net/{tenantid}/", "jwks_uri": tn.Server.URL + "/" + id + "/keys",
			})
		case "/" + id + "/keys":
			w.Header().Set("Cache-Control", "max-age=3600")
			_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &tn.Key.PublicKey, KeyID: tn.KID, Algorithm: "RS256", Use: "sig"}}})
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(tn.Server.Close)
	return tn
}

// Issuer is the tenant's token issuer.
func (tn *Tenant) Issuer() string { return "https://sts.windows.net/" + tn.ID + "/" }

// VM describes the virtual machine a token names.
type VM struct {
	Subscription, Group, Name, ObjectID string
}

// MirID is the VM's xms_mirid.
func (vm VM) MirID() string {
	return "/subscriptions/" + vm.Subscription + "/resourceGroups/" + vm.Group + "/providers/Microsoft.Compute/virtualMachines/" + vm.Name
}

// Payload returns the claims of a managed identity access token for vm and
// aud, valid for an hour from now.
func (tn *Tenant) Payload(vm VM, aud string, now time.Time) map[string]any {
	return map[string]any{
		"aud": aud, "iss": tn.Issuer(), "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		"aio": "x", "appid": "a", "appidacr": "2", "idp": tn.Issuer(), "oid": vm.ObjectID, "sub": vm.ObjectID,
		"tid": tn.ID, "uti": "u", "ver": "1.0", "xms_mirid": vm.MirID(),
	}
}

// Mint signs payload with the tenant's key.
func (tn *Tenant) Mint(t testing.TB, payload map[string]any) string {
	t.Helper()
	return gcptest.Sign(t, tn.Key, tn.KID, payload)
}

// Metadata starts a fake instance metadata service answering the managed
// identity token endpoint for vm (Metadata: true required; resource becomes
// aud), stopped at cleanup. Its URL is srv.URL + IdentityPath.
func (tn *Tenant) Metadata(t testing.TB, vm VM) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if r.URL.Path != IdentityPath || r.Header.Get("Metadata") != "true" || q.Get("resource") == "" || !strings.HasPrefix(q.Get("api-version"), "20") {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{
			"access_token": tn.Mint(t, tn.Payload(vm, q.Get("resource"), time.Now())), "token_type": "Bearer",
			"resource": q.Get("resource"), "expires_in": "3600",
		})
	}))
	t.Cleanup(srv.Close)
	return srv
}

// IdentityPath is the path of the metadata service's token endpoint.
const IdentityPath = "/metadata/identity/oauth2/token"
