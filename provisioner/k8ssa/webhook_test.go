package k8ssa_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/provisioner/provtest"
)

// A K8sSA provisioner calls its webhooks like every type: an authorizing
// webhook that denies refuses the certificate, and the webhook is told the
// provisioner and the service account's token.
func TestK8sSAWebhooks(t *testing.T) {
	var mu sync.Mutex
	var bodies []map[string]any
	allow := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b map[string]any
		_ = json.NewDecoder(r.Body).Decode(&b)
		mu.Lock()
		bodies = append(bodies, b)
		ok := allow
		mu.Unlock()
		if ok {
			io.WriteString(w, `{"allow": true}`)
			return
		}
		io.WriteString(w, `{"allow": false}`)
	}))
	t.Cleanup(srv.Close)
	s := newRSA(t)
	e := newEnv(t, entry(t, "k8s", s.pem(t), map[string]any{"options": map[string]any{"webhooks": []any{
		map[string]any{"id": "1", "name": "gate", "kind": "AUTHORIZING", "url": srv.URL, "certType": "X509"},
	}}}))
	ott := s.mint(t, legacy())
	csr := provtest.CSR(t, "builder.default.svc", "builder.default.svc")
	if _, err := e.sign(context.Background(), csr, ott, 0); !errs.Is(err, errs.Forbidden) {
		t.Fatalf("Sign = %v, want the webhook's denial (Forbidden)", err)
	}
	mu.Lock()
	allow = true
	mu.Unlock()
	if _, err := e.sign(context.Background(), csr, ott, 0); err != nil {
		t.Fatalf("Sign with the webhook allowing: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(bodies) != 2 || bodies[0]["provisionerName"] != "k8s" || bodies[0]["x509Certificate"] == nil {
		t.Fatalf("webhook bodies = %v", bodies)
	}
}
