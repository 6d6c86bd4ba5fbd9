package scep

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/provisioner"
)

// SCEPCHALLENGE webhooks replace the static challenge: the webhook is sent
// the challenge, the transaction ID and the CSR, and decides.
func TestSCEPChallengeWebhook(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var bodies []map[string]any
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b map[string]any
		_ = json.NewDecoder(r.Body).Decode(&b)
		mu.Lock()
		bodies = append(bodies, b)
		mu.Unlock()
		if b["scepChallenge"] == "dynamic" {
			io.WriteString(w, `{"allow": true}`)
			return
		}
		io.WriteString(w, `{"allow": false}`)
	}))
	t.Cleanup(s.Close)
	entry, _ := json.Marshal(map[string]any{"type": "SCEP", "name": "s", "challenge": "static", "options": map[string]any{"webhooks": []any{
		map[string]any{"id": "1", "name": "chal", "kind": "SCEPCHALLENGE", "url": s.URL},
	}}})
	pi, err := New(entry, provisioner.Config{Claims: provisioner.DefaultClaims, HTTPClient: s.Client()})
	if err != nil {
		t.Fatal(err)
	}
	p := pi.(*Provisioner)
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ctx := context.Background()
	if _, err := p.AuthorizeSCEP(ctx, csr(t, ec, "d.example.com"), "dynamic", "tx-1"); err != nil {
		t.Fatalf("allowed by the webhook: %v", err)
	}
	if _, err := p.AuthorizeSCEP(ctx, csr(t, ec, "d.example.com"), "static", "tx-2"); !ChallengeError(err) || errs.KindOf(err) != errs.Forbidden {
		t.Fatalf("the static challenge with a webhook = %v, want refused", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(bodies) != 2 || bodies[0]["scepTransactionID"] != "tx-1" || bodies[0]["provisionerName"] != "s" || bodies[0]["x509CertificateRequest"] == nil {
		t.Fatalf("webhook bodies = %v", bodies)
	}
}
