package provisioner_test

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/provisioner"
	"github.com/mayfly-pki/mayfly/provisioner/token"
)

// routed is a provisioner of no particular type reached by the routing keys
// it declares (provisioner.Router).
type routed struct {
	name string
	keys []provisioner.RouteKey
}

func (r *routed) Info() provisioner.Info {
	return provisioner.Info{ID: "routed/" + r.name, Name: r.name, Type: provisioner.TypeOIDC}
}
func (r *routed) TokenID() string                      { return "routed/" + r.name }
func (r *routed) Claims() provisioner.Resolved         { return provisioner.DefaultClaims }
func (r *routed) EncryptedKey() (string, string, bool) { return "", "", false }
func (r *routed) JSON() json.RawMessage                { return json.RawMessage(`{}`) }
func (r *routed) RouteKeys() []provisioner.RouteKey    { return r.keys }
func (r *routed) AuthorizeRevoke(context.Context, *token.Token) error {
	return errs.Errorf(errs.Unauthorized, "no")
}
func (r *routed) AuthorizeRenew(context.Context, *x509.Certificate) error {
	return errs.Errorf(errs.Unauthorized, "no")
}
func (r *routed) AuthorizeSign(context.Context, *token.Token) (*provisioner.X509Plan, error) {
	return nil, errs.Errorf(errs.Unauthorized, "no")
}

// rawToken signs any payload (claims the token package does not decode).
func rawToken(t *testing.T, key *jose.JSONWebKey, payload map[string]any) *token.Token {
	t.Helper()
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key}, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(payload)
	jws, err := sig.Sign(b)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := jws.CompactSerialize()
	tok, err := token.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestCollectionRouting checks the routing table of wire-spec §4.8: the
// collection knows no type, only the keys each provisioner declares.
func TestCollectionRouting(t *testing.T) {
	t.Parallel()
	admin, key := newJWK(t, "admin", "")
	k8s := &routed{name: "k8s", keys: []provisioner.RouteKey{{Kind: provisioner.RouteIssuer, Value: "kubernetes/serviceaccount"}}}
	oidc := &routed{name: "oidc", keys: []provisioner.RouteKey{{Kind: provisioner.RouteAZP, Value: "client-1"}}}
	azure := &routed{name: "azure", keys: []provisioner.RouteKey{{Kind: provisioner.RouteTenant, Value: "tenant-1"}}}
	azureAud := &routed{name: "azure-aud", keys: []provisioner.RouteKey{{Kind: provisioner.RouteAudience, Value: "https://azure.example.com/"}}}
	c, err := provisioner.NewCollection([]provisioner.Interface{admin, k8s, oidc, azure, azureAud}, testAudiences())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		payload map[string]any
		want    provisioner.Interface
	}{
		{"fragment", map[string]any{"iss": "x", "aud": caURL + "/1.0/sign#routed/oidc"}, oidc},
		{"k8s issuer", map[string]any{"iss": "kubernetes/serviceaccount", "aud": "whatever"}, k8s},
		{"azp", map[string]any{"iss": "https://accounts.example.com", "aud": "client-1", "azp": "client-1"}, oidc},
		{"unknown azp", map[string]any{"iss": "https://accounts.example.com", "aud": "client-2", "azp": "client-2"}, nil},
		{"tid", map[string]any{"aud": "https://management.example.com/", "tid": "tenant-1"}, azure},
		{"tid and email: aud[0] first", map[string]any{"aud": "https://azure.example.com/", "tid": "tenant-1", "email": "a@b"}, azureAud},
		{"tid and email, unknown aud", map[string]any{"aud": "https://other.example.com/", "tid": "tenant-1", "email": "a@b"}, azure},
		{"aud[0]", map[string]any{"aud": []string{"https://azure.example.com/", "x"}}, azureAud},
		{"CA audience with a fragment of nobody", map[string]any{"iss": "kubernetes/serviceaccount", "aud": caURL + "/1.0/sign#nobody"}, nil},
	}
	for _, tc := range tests {
		p, ok := c.ByToken(rawToken(t, key, tc.payload))
		if ok != (tc.want != nil) || p != tc.want {
			t.Errorf("%s: ByToken = %v, %v; want %v", tc.name, p, ok, tc.want)
		}
	}

	dup := &routed{name: "oidc2", keys: []provisioner.RouteKey{{Kind: provisioner.RouteAZP, Value: "client-1"}}}
	if _, err := provisioner.NewCollection([]provisioner.Interface{oidc, dup}, testAudiences()); err == nil || !strings.Contains(err.Error(), `"client-1" is used more than once`) {
		t.Fatalf("duplicate azp: %v", err)
	}
}
