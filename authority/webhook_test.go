package authority_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	at "github.com/mayfly-pki/mayfly/authority/authoritytest"
	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/db/memory"
	"github.com/mayfly-pki/mayfly/internal/errs"
)

// countingStore counts the certificates stored.
type countingStore struct {
	store.Store
	n atomic.Int32
}

func (s *countingStore) StoreCertificate(ctx context.Context, c *store.Certificate) error {
	s.n.Add(1)
	return s.Store.StoreCertificate(ctx, c)
}

var whSecret = []byte("webhook-secret")

// webhookServer answers every correctly signed request with answer, and
// 400 otherwise.
func webhookServer(t *testing.T, answer string) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var calls atomic.Int32
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		b, _ := io.ReadAll(r.Body)
		mac := hmac.New(sha256.New, whSecret)
		mac.Write(b)
		if r.Header.Get("X-Smallstep-Signature") != hex.EncodeToString(mac.Sum(nil)) {
			http.Error(w, "bad signature", http.StatusBadRequest)
			return
		}
		io.WriteString(w, answer)
	}))
	t.Cleanup(s.Close)
	return s, &calls
}

func webhookEntry(name, kind, url string) map[string]any {
	return map[string]any{"id": "id-" + name, "name": name, "kind": kind, "url": url,
		"secret": base64.StdEncoding.EncodeToString(whSecret)}
}

// An ENRICHING webhook's data reaches the template at .Webhooks.<name>.
func TestSignWebhookEnrichesTemplate(t *testing.T) {
	t.Parallel()
	s, calls := webhookServer(t, `{"allow": true, "data": {"role": "eng"}}`)
	tmpl := `{"subject": {"commonName": {{ toJson .Subject.CommonName }}, "organizationalUnit": {{ toJson .Webhooks.people.role }}},
"sans": {{ toJson .SANs }}}`
	env := at.New(t, at.Options{AdminExtra: map[string]any{"options": map[string]any{
		"x509":     map[string]any{"template": tmpl},
		"webhooks": []any{webhookEntry("people", "ENRICHING", s.URL)},
	}}})
	c, err := signWith(t, env, "a.example.com", nil)
	if err != nil {
		t.Fatal(err)
	}
	if ou := c.Subject.OrganizationalUnit; len(ou) != 1 || ou[0] != "eng" {
		t.Errorf("OU = %v, want [eng]", ou)
	}
	if calls.Load() != 1 {
		t.Errorf("webhook called %d times", calls.Load())
	}
}

// An AUTHORIZING webhook that denies refuses issuance with step-ca's
// message, and nothing is stored; one that allows lets it through.
func TestSignWebhookAuthorize(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		answer string
		allow  bool
	}{{`{"allow": false}`, false}, {`{"allow": true}`, true}} {
		s, calls := webhookServer(t, tt.answer)
		st := &countingStore{Store: memory.New()}
		env := at.New(t, at.Options{Store: st, AdminExtra: map[string]any{"options": map[string]any{
			"webhooks": []any{webhookEntry("gate", "AUTHORIZING", s.URL)},
		}}})
		_, err := signWith(t, env, "a.example.com", nil)
		if calls.Load() != 1 {
			t.Errorf("%s: webhook called %d times", tt.answer, calls.Load())
		}
		if tt.allow {
			if err != nil || st.n.Load() != 1 {
				t.Errorf("%s: Sign = %v, %d stored", tt.answer, err, st.n.Load())
			}
			continue
		}
		wantErr(t, err, errs.Forbidden, "webhook server did not allow request")
		if e := errs.As(err); e == nil || !e.Exact {
			t.Errorf("err = %#v, want step-ca's exact message", err)
		}
		if st.n.Load() != 0 {
			t.Errorf("%d certificates stored after a denial", st.n.Load())
		}
	}
}

// A webhook URL is a template of the request's data, .Token and .Subject
// included, even for a provisioner without a certificate template.
func TestSignWebhookURLTemplate(t *testing.T) {
	t.Parallel()
	var path atomic.Value
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path.Store(r.URL.Path)
		io.WriteString(w, `{"allow": true}`)
	}))
	t.Cleanup(s.Close)
	env := at.New(t, at.Options{AdminExtra: map[string]any{"options": map[string]any{
		"webhooks": []any{webhookEntry("gate", "AUTHORIZING", s.URL+"/{{ .Token.iss }}/{{ .Subject.CommonName }}")},
	}}})
	if _, err := signWith(t, env, "a.example.com", nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := path.Load().(string); got != "/admin/a.example.com" {
		t.Errorf("webhook path = %q, want /admin/a.example.com", got)
	}
}
