package x5c_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	at "github.com/mayfly-pki/mayfly/authority/authoritytest"
	"github.com/mayfly-pki/mayfly/internal/errs"
)

// An X5C provisioner calls its webhooks, telling them the x5c leaf: the
// authorizationPrincipal is its common name and x5cCertificate its DER.
func TestX5CWebhooks(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var bodies []map[string]any
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b map[string]any
		_ = json.NewDecoder(r.Body).Decode(&b)
		mu.Lock()
		bodies = append(bodies, b)
		mu.Unlock()
		io.WriteString(w, `{"allow": false}`)
	}))
	t.Cleanup(s.Close)
	e := newX5CEnv(t, map[string]any{"options": map[string]any{"webhooks": []any{
		map[string]any{"id": "1", "name": "gate", "kind": "AUTHORIZING", "url": s.URL, "certType": "X509"},
	}}})
	_, err := e.sign(context.Background(), at.NewCSR(t, at.CSR{CommonName: "a.example.com", DNSNames: []string{"a.example.com"}}),
		e.mint(t, e.claims(t, "a.example.com")), 0)
	if !errs.Is(err, errs.Forbidden) || err.Error() != "webhook server did not allow request: webhook \"gate\" denied the request" {
		t.Fatalf("Sign = %v, want the webhook's denial", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(bodies) != 1 {
		t.Fatalf("%d webhook calls", len(bodies))
	}
	b := bodies[0]
	x5c, _ := b["x5cCertificate"].(map[string]any)
	if b["authorizationPrincipal"] != "client" || b["provisionerName"] != "x5cp" || x5c == nil ||
		x5c["raw"] != base64.StdEncoding.EncodeToString(e.leaf.Raw) || b["x509Certificate"] == nil {
		t.Errorf("body = %v", b)
	}
}
