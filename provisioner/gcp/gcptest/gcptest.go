// Package gcptest fakes Google for tests: a key set served on loopback, and
// identity tokens for a Compute Engine instance signed by its key, as the
// metadata server returns them.
package gcptest

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/mayfly-pki/mayfly/provisioner/gcp"
)

// Google is a fake Google: Certs serves its JWKS.
type Google struct {
	Key   *rsa.PrivateKey
	KID   string
	Certs *httptest.Server
}

// New starts a fake Google, stopped at cleanup.
func New(t testing.TB) *Google {
	t.Helper()
	g := &Google{Key: NewKey(t), KID: "google-test-kid"}
	g.Certs = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &g.Key.PublicKey, KeyID: g.KID, Algorithm: "RS256", Use: "sig"}}}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		_ = json.NewEncoder(w).Encode(set)
	}))
	t.Cleanup(g.Certs.Close)
	return g
}

// NewKey returns a new RSA key.
func NewKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// Instance describes the instance a token names.
type Instance struct {
	ID, Name, ProjectID, Zone string
	Created                   time.Time
	ServiceAccount            string // sub and email
}

// DefaultInstance is an instance of project "mayfly-test".
func DefaultInstance(now time.Time) Instance {
	return Instance{
		ID: "5236427843357924829", Name: "instance-1", ProjectID: "mayfly-test", Zone: "us-central1-c",
		Created: now.Add(-time.Hour), ServiceAccount: "123456789012-compute@developer.gserviceaccount.com",
	}
}

// Payload returns the claims of an identity token (format=full) for in and
// aud, valid for an hour from now; callers may change them.
func Payload(in Instance, aud string, now time.Time) map[string]any {
	return map[string]any{
		"aud": aud, "azp": "1234567890", "email": in.ServiceAccount, "email_verified": true,
		"exp": now.Add(time.Hour).Unix(), "iat": now.Unix(), "iss": gcp.Issuer, "sub": in.ServiceAccount,
		"google": map[string]any{"compute_engine": map[string]any{
			"instance_creation_timestamp": in.Created.Unix(), "instance_id": in.ID, "instance_name": in.Name,
			"project_id": in.ProjectID, "project_number": 123456789012, "zone": in.Zone,
		}},
	}
}

// Sign signs payload with key (RS256), kid in the header.
func Sign(t testing.TB, key *rsa.PrivateKey, kid string, payload map[string]any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := signer.Sign(b)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// Mint signs payload with Google's key.
func (g *Google) Mint(t testing.TB, payload map[string]any) string {
	t.Helper()
	return Sign(t, g.Key, g.KID, payload)
}

// Metadata starts a fake metadata server answering the identity endpoint
// as Compute Engine does for in (Metadata-Flavor: Google required; the
// audience query parameter becomes aud), stopped at cleanup. Its identity
// URL is srv.URL + IdentityPath.
func (g *Google) Metadata(t testing.TB, in Instance) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != IdentityPath || r.Header.Get("Metadata-Flavor") != "Google" {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		q := r.URL.Query()
		if q.Get("format") != "full" || q.Get("audience") == "" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		_, _ = w.Write([]byte(g.Mint(t, Payload(in, q.Get("audience"), time.Now()))))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// IdentityPath is the path of the metadata server's identity endpoint.
const IdentityPath = "/computeMetadata/v1/instance/service-accounts/default/identity"
