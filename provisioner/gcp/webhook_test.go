package gcp_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	at "github.com/mayfly-pki/mayfly/authority/authoritytest"
	"github.com/mayfly-pki/mayfly/internal/errs"
)

// A GCP provisioner calls its webhooks like every type: a denying
// authorizing webhook refuses the instance's certificate, and is told the
// provisioner and the instance's name as the subject.
func TestGCPWebhooks(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var bodies []map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b map[string]any
		_ = json.NewDecoder(r.Body).Decode(&b)
		mu.Lock()
		bodies = append(bodies, b)
		mu.Unlock()
		io.WriteString(w, `{"allow": false}`)
	}))
	t.Cleanup(srv.Close)
	e := newEnv(t, map[string]any{"options": map[string]any{"webhooks": []any{
		map[string]any{"id": "1", "name": "gate", "kind": "AUTHORIZING", "url": srv.URL, "certType": "X509"},
	}}})
	in := e.instance()
	_, err := e.sign(context.Background(), at.NewCSR(t, at.CSR{CommonName: "anything", DNSNames: []string{"a.example.com"}}), e.token(t, in, nil), 0)
	if !errs.Is(err, errs.Forbidden) {
		t.Fatalf("Sign = %v, want the webhook's denial (Forbidden)", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(bodies) != 1 || bodies[0]["provisionerName"] != "gcp" || bodies[0]["x509Certificate"] == nil {
		t.Fatalf("webhook bodies = %v", bodies)
	}
}
