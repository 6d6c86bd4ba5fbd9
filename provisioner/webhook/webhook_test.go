package webhook_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/provisioner"
	"github.com/mayfly-pki/mayfly/provisioner/webhook"
)

var secret = []byte("0123456789abcdef0123456789abcdef")

// server is a webhook server that checks every request's signature and
// webhook ID, records the bodies, and answers with answer.
type server struct {
	*httptest.Server
	mu     sync.Mutex
	bodies []map[string]any
	auth   []string
	bad    []string // problems seen
}

func newServer(t *testing.T, tls bool, answer func(w http.ResponseWriter, r *http.Request, body map[string]any)) *server {
	t.Helper()
	s := &server{}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mac := hmac.New(sha256.New, secret)
		mac.Write(b)
		s.mu.Lock()
		if got, want := r.Header.Get("X-Smallstep-Signature"), hex.EncodeToString(mac.Sum(nil)); got != want {
			s.bad = append(s.bad, "signature "+got+" != "+want)
		}
		if got := r.Header.Get("X-Smallstep-Webhook-ID"); got != "wh-id" {
			s.bad = append(s.bad, "webhook ID "+got)
		}
		if r.Method != http.MethodPost {
			s.bad = append(s.bad, "method "+r.Method)
		}
		var body map[string]any
		if err := json.Unmarshal(b, &body); err != nil {
			s.bad = append(s.bad, "body: "+err.Error())
		}
		s.bodies = append(s.bodies, body)
		s.auth = append(s.auth, r.Header.Get("Authorization"))
		s.mu.Unlock()
		answer(w, r, body)
	})
	if tls {
		s.Server = httptest.NewTLSServer(h)
	} else {
		s.Server = httptest.NewServer(h)
	}
	t.Cleanup(s.Close)
	t.Cleanup(func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, b := range s.bad {
			t.Errorf("webhook server: %s", b)
		}
	})
	return s
}

func (s *server) requests() ([]map[string]any, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]map[string]any(nil), s.bodies...), append([]string(nil), s.auth...)
}

func answerJSON(v string) func(http.ResponseWriter, *http.Request, map[string]any) {
	return func(w http.ResponseWriter, _ *http.Request, _ map[string]any) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, v)
	}
}

var now = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

func options(t *testing.T, hooks ...map[string]any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(map[string]any{"webhooks": hooks})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// hook is a webhook entry with the test secret and ID.
func hook(name, kind, url string) map[string]any {
	return map[string]any{"id": "wh-id", "name": name, "url": url, "kind": kind,
		"secret": base64.StdEncoding.EncodeToString(secret)}
}

func parse(t *testing.T, s *server, opts json.RawMessage, o ...webhook.Option) *webhook.Set {
	t.Helper()
	set, err := webhook.Parse(opts, provisioner.Config{HTTPClient: s.Client(), Now: func() time.Time { return now }}, o...)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func newCSR(t *testing.T, cn string) *x509.CertificateRequest {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: cn}, DNSNames: []string{cn},
	}, key)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		t.Fatal(err)
	}
	return csr
}

func newCert(csr *x509.CertificateRequest) *x509.Certificate {
	return &x509.Certificate{Subject: csr.Subject, DNSNames: csr.DNSNames, PublicKey: csr.PublicKey,
		NotBefore: now, NotAfter: now.Add(24 * time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
}

// run applies the webhooks to one request in the authority's order.
func run(t *testing.T, hooks []provisioner.Webhook, csr *x509.CertificateRequest, data map[string]any) error {
	t.Helper()
	ctx := context.Background()
	for _, h := range hooks {
		if err := h.Enrich(ctx, csr, data); err != nil {
			return err
		}
	}
	for _, h := range hooks {
		if err := h.Authorize(ctx, newCert(csr)); err != nil {
			return err
		}
	}
	return nil
}

func TestEnrich(t *testing.T) {
	t.Parallel()
	s := newServer(t, true, answerJSON(`{"allow": true, "data": {"role": "eng", "n": 3}}`))
	h := hook("people", "ENRICHING", "")
	h["bearerToken"] = "tok123"
	set := parse(t, s, options(t, with(h, "url", s.URL+"/people"), hook("auth", "AUTHORIZING", s.URL+"/auth")))
	csr := newCSR(t, "a.example.com")
	data := map[string]any{"Existing": 1}
	hooks := set.X509(webhook.Request{ProvisionerName: "admin", AuthorizationPrincipal: "leaf-cn"})
	if len(hooks) != 2 {
		t.Fatalf("X509 = %d webhooks, want 2", len(hooks))
	}
	if err := run(t, hooks, csr, data); err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(data)
	if want := `{"Existing":1,"Webhooks":{"people":{"n":3,"role":"eng"}}}`; string(got) != want {
		t.Errorf("data = %s, want %s", got, want)
	}
	bodies, auth := s.requests()
	if len(bodies) != 2 {
		t.Fatalf("server saw %d requests, want 2", len(bodies))
	}
	if auth[0] != "Bearer tok123" || auth[1] != "" {
		t.Errorf("Authorization = %q", auth)
	}
	enrich, authz := bodies[0], bodies[1]
	if enrich["timestamp"] != "2026-12-01T10:00:00Z" || enrich["provisionerName"] != "admin" || enrich["authorizationPrincipal"] != "leaf-cn" {
		t.Errorf("enrich body = %v", enrich)
	}
	cr, _ := enrich["x509CertificateRequest"].(map[string]any)
	if cr == nil || enrich["x509Certificate"] != nil {
		t.Fatalf("enrich body = %v", enrich)
	}
	if sub, _ := cr["subject"].(map[string]any); sub["commonName"] != "a.example.com" {
		t.Errorf("x509CertificateRequest.subject = %v", cr["subject"])
	}
	if cr["publicKeyAlgorithm"] != "ECDSA" || cr["raw"] != base64.StdEncoding.EncodeToString(csr.Raw) || cr["publicKey"] == nil {
		t.Errorf("x509CertificateRequest = %v", cr)
	}
	if names, _ := cr["dnsNames"].([]any); len(names) != 1 || names[0] != "a.example.com" {
		t.Errorf("x509CertificateRequest.dnsNames = %v", cr["dnsNames"])
	}
	crt, _ := authz["x509Certificate"].(map[string]any)
	if crt == nil || authz["x509CertificateRequest"] != nil {
		t.Fatalf("authorize body = %v", authz)
	}
	if crt["notAfter"] != "2026-12-02T10:00:00Z" || crt["publicKeyAlgorithm"] != "ECDSA" || crt["publicKey"] == nil {
		t.Errorf("x509Certificate = %v", crt)
	}
	if eku, _ := crt["extKeyUsage"].([]any); len(eku) != 1 || eku[0] != "serverAuth" {
		t.Errorf("x509Certificate.extKeyUsage = %v", crt["extKeyUsage"])
	}
}

func with(m map[string]any, k string, v any) map[string]any {
	out := map[string]any{}
	for kk, vv := range m {
		out[kk] = vv
	}
	out[k] = v
	return out
}

func wantForbidden(t *testing.T, err error, msg string) {
	t.Helper()
	e := errs.As(err)
	if e == nil || e.Kind != errs.Forbidden || !e.Exact || !strings.Contains(e.Detail, msg) {
		t.Fatalf("err = %#v, want a forbidden error containing %q", err, msg)
	}
}

func TestDeny(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"ENRICHING", "AUTHORIZING"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, false, answerJSON(`{"allow": false, "data": {"x": 1}}`))
			h := with(hook("gate", kind, ""), "url", s.URL)
			h["basicAuth"] = map[string]any{"username": "u", "password": "p"}
			set := parse(t, s, options(t, h))
			data := map[string]any{}
			err := run(t, set.X509(webhook.Request{}), newCSR(t, "a.example.com"), data)
			wantForbidden(t, err, "webhook server did not allow request")
			if errs.As(err).Detail != webhook.DeniedMessage {
				t.Errorf("detail = %q", errs.As(err).Detail)
			}
			if _, ok := data["Webhooks"]; ok {
				t.Errorf("denied data reached the template: %v", data)
			}
			if _, auth := s.requests(); len(auth) != 1 || auth[0] != "Basic dTpw" {
				t.Errorf("Authorization = %q", auth)
			}
		})
	}
}

// A webhook that does not answer refuses issuance within the timeout,
// naming the webhook.
func TestTimeout(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	s := newServer(t, true, func(w http.ResponseWriter, r *http.Request, _ map[string]any) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	set := parse(t, s, options(t, with(hook("slow", "AUTHORIZING", ""), "url", s.URL)), webhook.WithTimeout(200*time.Millisecond))
	start := time.Now()
	err := run(t, set.X509(webhook.Request{}), newCSR(t, "a.example.com"), map[string]any{})
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("refused after %s", d)
	}
	wantForbidden(t, err, `webhook "slow" failed: no answer within 200ms`)
}

// A 5xx answer is retried once, as step-ca; a 4xx is not.
func TestServerErrors(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		status, calls int
	}{{500, 2}, {503, 2}, {404, 1}, {401, 1}} {
		s := newServer(t, false, func(w http.ResponseWriter, _ *http.Request, _ map[string]any) {
			w.WriteHeader(tt.status)
		})
		set := parse(t, s, options(t, with(hook("h", "ENRICHING", ""), "url", s.URL)))
		err := run(t, set.X509(webhook.Request{}), newCSR(t, "a.example.com"), map[string]any{})
		wantForbidden(t, err, fmt.Sprintf(`webhook "h" failed: webhook server responded with %d`, tt.status))
		if b, _ := s.requests(); len(b) != tt.calls {
			t.Errorf("status %d: %d calls, want %d", tt.status, len(b), tt.calls)
		}
	}
}

func TestBadResponses(t *testing.T) {
	t.Parallel()
	for _, body := range []string{
		`not json`, `[]`, `{"allow": "yes"}`, `{"allow": true} {"allow": true}`, `{"allow": true`,
		`{"allow": true, "data": "` + strings.Repeat("a", webhook.MaxResponseSize) + `"}`,
	} {
		s := newServer(t, false, answerJSON(body))
		set := parse(t, s, options(t, with(hook("h", "ENRICHING", ""), "url", s.URL)))
		err := run(t, set.X509(webhook.Request{}), newCSR(t, "a.example.com"), map[string]any{})
		wantForbidden(t, err, `webhook "h" failed: invalid response`)
	}
}

func TestConnectionRefused(t *testing.T) {
	t.Parallel()
	s := newServer(t, false, answerJSON(`{"allow":true}`))
	url := s.URL
	s.Close()
	set := parse(t, s, options(t, with(hook("gone", "AUTHORIZING", ""), "url", url)))
	err := run(t, set.X509(webhook.Request{}), newCSR(t, "a.example.com"), map[string]any{})
	wantForbidden(t, err, `webhook "gone" failed: request failed`)
}

// certType SSH webhooks and SCEP kinds do not apply to X.509 requests.
func TestFilter(t *testing.T) {
	t.Parallel()
	s := newServer(t, false, answerJSON(`{"allow": false}`))
	set := parse(t, s, options(t,
		with(hook("ssh", "AUTHORIZING", s.URL), "certType", "SSH"),
		with(hook("scep", "SCEPCHALLENGE", s.URL), "certType", "X509"),
		with(hook("x", "ENRICHING", s.URL), "certType", "X509"),
		with(hook("all", "AUTHORIZING", s.URL), "certType", "ALL"),
	))
	var names []string
	for _, h := range set.X509(webhook.Request{}) {
		names = append(names, h.(interface{ Name() string }).Name())
	}
	if strings.Join(names, ",") != "x,all" {
		t.Errorf("X509 = %v", names)
	}
	var none *webhook.Set
	if none.X509(webhook.Request{}) != nil {
		t.Error("nil set has webhooks")
	}
}

// The URL is a template of the request's template data, as in step-ca.
func TestURLTemplate(t *testing.T) {
	t.Parallel()
	var paths []string
	var mu sync.Mutex
	s := newServer(t, false, func(w http.ResponseWriter, r *http.Request, _ map[string]any) {
		mu.Lock()
		paths = append(paths, r.URL.Path)
		mu.Unlock()
		io.WriteString(w, `{"allow":true}`)
	})
	set := parse(t, s, options(t,
		with(hook("e", "ENRICHING", ""), "url", s.URL+"/e/{{ .Token.sub }}"),
		with(hook("a", "AUTHORIZING", ""), "url", s.URL+"/a/{{ .Token.sub }}")))
	data := map[string]any{"Token": map[string]any{"sub": "bob@example.com"}}
	if err := run(t, set.X509(webhook.Request{}), newCSR(t, "a.example.com"), data); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(paths, " ") != "/e/bob@example.com /a/bob@example.com" {
		t.Errorf("paths = %v", paths)
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		opts string
		want string
	}{
		{`{"webhooks": {}}`, "options.webhooks: must be a JSON array"},
		{`{"webhooks": [3]}`, "options.webhooks[0]: must be a JSON object"},
		{`{"webhooks": [{"url":"https://x","kind":"ENRICHING"}]}`, "options.webhooks[0].name: cannot be empty"},
		{`{"webhooks": [{"name":"a","url":"https://x"}]}`, "options.webhooks[0].kind: cannot be empty"},
		{`{"webhooks": [{"name":"a","url":"https://x","kind":"NOPE"}]}`, `options.webhooks[0].kind: unsupported kind "NOPE"`},
		{`{"webhooks": [{"name":"a","url":"https://x","kind":"ENRICHING","certType":"Z"}]}`, `options.webhooks[0].certType: unsupported certType "Z"`},
		{`{"webhooks": [{"name":"a","kind":"ENRICHING"}]}`, "options.webhooks[0].url: cannot be empty"},
		{`{"webhooks": [{"name":"a","url":"ftp://x","kind":"ENRICHING"}]}`, `options.webhooks[0].url: url scheme must be https or http`},
		{`{"webhooks": [{"name":"a","url":"https://x/{{ .A","kind":"ENRICHING"}]}`, `options.webhooks[0].url: invalid url template`},
		{`{"webhooks": [{"name":"a","url":"https://x","kind":"ENRICHING","secret":"%%"}]}`, `options.webhooks[0].secret: must be standard base64`},
		{`{"webhooks": [{"name":"a","url":"https://x","kind":"ENRICHING","disableTLSClientAuth":"yes"}]}`, `options.webhooks[0]: disableTLSClientAuth must be a JSON boolean`},
		{`{"webhooks": [{"name":"a","url":"https://x","kind":"ENRICHING"},{"name":"a","url":"https://y","kind":"AUTHORIZING"}]}`, `options.webhooks[1].name: duplicate webhook name "a"`},
	}
	for _, tt := range tests {
		_, err := webhook.Parse(json.RawMessage(tt.opts), provisioner.Config{})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse(%s) = %v, want %q", tt.opts, err, tt.want)
		}
	}
	for _, opts := range []string{``, `null`, `{}`, `{"webhooks": null}`, `{"webhooks": []}`, `{"x509": {}}`} {
		set, err := webhook.Parse(json.RawMessage(opts), provisioner.Config{})
		if err != nil || set != nil {
			t.Errorf("Parse(%s) = %v, %v; want nil, nil", opts, set, err)
		}
	}
	set, err := webhook.Parse(json.RawMessage(`{"webhooks": [{"id":"1","name":"a","url":"https://x","kind":"enriching","certType":"x509"}]}`), provisioner.Config{})
	if err != nil || set == nil {
		t.Errorf("lower-case kind: %v", err)
	}
}

func TestRedact(t *testing.T) {
	t.Parallel()
	in := `{"type":"JWK","name":"a","key":{"kty":"EC"},"options":{"x509":{"template":"<{}>"},"webhooks":[{"id":"1","name":"w","url":"https://x","kind":"ENRICHING","secret":"c2VjcmV0","bearerToken":"t","basicAuth":{"username":"u","password":"p"},"certType":"X509"}]}}`
	want := `{"type":"JWK","name":"a","key":{"kty":"EC"},"options":{"x509":{"template":"<{}>"},"webhooks":[{"id":"1","name":"w","url":"https://x","kind":"ENRICHING","certType":"X509"}]}}`
	got, err := webhook.Redact(json.RawMessage(in))
	if err != nil || string(got) != want {
		t.Errorf("Redact = %s, %v\nwant %s", got, err, want)
	}
	odd := `{"name":"a","Options":{"WEBHOOKS":[{"name":"w","SECRET":"x","BearerToken":"y","basic\u0041uth":{}}]}}`
	if got, err := webhook.Redact(json.RawMessage(odd)); err != nil || string(got) != `{"name":"a","Options":{"WEBHOOKS":[{"name":"w"}]}}` {
		t.Errorf("Redact(%s) = %s, %v", odd, got, err)
	}
	plain := `{"type":"JWK","name":"a","options":{"webhooks":[{"name":"w"}]}}`
	if got, err := webhook.Redact(json.RawMessage(plain)); err != nil || string(got) != plain {
		t.Errorf("Redact = %s, %v", got, err)
	}
}

// A request whose client goes away stops its webhook call at once.
func TestCanceled(t *testing.T) {
	t.Parallel()
	arrived := make(chan struct{}, 1)
	s := newServer(t, false, func(w http.ResponseWriter, r *http.Request, _ map[string]any) {
		arrived <- struct{}{}
		<-r.Context().Done()
	})
	set := parse(t, s, options(t, hook("h", "ENRICHING", s.URL)))
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		select {
		case <-arrived:
		case <-time.After(10 * time.Second):
		}
		cancel()
	}()
	err := set.X509(webhook.Request{})[0].Enrich(ctx, newCSR(t, "a.example.com"), map[string]any{})
	wantForbidden(t, err, `webhook "h" failed: request canceled`)
}

// A webhook server whose certificate chains to the CA's roots is trusted,
// as step-ca; without them it is not.
func TestCARoots(t *testing.T) {
	t.Parallel()
	s := newServer(t, true, answerJSON(`{"allow": true}`))
	opts := options(t, hook("h", "AUTHORIZING", s.URL))
	for _, roots := range [][]*x509.Certificate{{s.Certificate()}, nil} {
		set, err := webhook.Parse(opts, provisioner.Config{HTTPClient: &http.Client{}, Roots: roots})
		if err != nil {
			t.Fatal(err)
		}
		err = run(t, set.X509(webhook.Request{}), newCSR(t, "a.example.com"), map[string]any{})
		if roots != nil && err != nil {
			t.Errorf("with the CA's roots: %v", err)
		}
		if roots == nil {
			wantForbidden(t, err, `webhook "h" failed: request failed`)
		}
	}
}
