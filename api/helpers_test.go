package api_test

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/sirupsen/logrus"

	"github.com/mayfly-pki/mayfly/api"
	"github.com/mayfly-pki/mayfly/api/wire"
	"github.com/mayfly-pki/mayfly/authority"
	at "github.com/mayfly-pki/mayfly/authority/authoritytest"
)

const tlsOptions = `{"cipherSuites":["TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"],"minVersion":1.2,"maxVersion":1.3,"renegotiation":false}`

// lockedBuffer is a log sink safe for concurrent handlers.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// Reset drops what was logged so far.
func (b *lockedBuffer) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Reset()
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// server is an API handler over an authoritytest environment, logging JSON
// lines to logs.
type server struct {
	env  *at.Env
	h    *api.Handler
	logs *lockedBuffer
}

func newServer(t testing.TB, o at.Options) *server {
	t.Helper()
	logs := &lockedBuffer{}
	logger := logrus.New()
	logger.Out = logs
	logger.Formatter = &logrus.JSONFormatter{}
	env := at.New(t, o)
	h := api.New(api.Deps{
		Authority:  func() *authority.Authority { return env.Authority },
		TLSOptions: func() json.RawMessage { return json.RawMessage(tlsOptions) },
		Version:    "0.1.2",
		Logger:     logger,
		Now:        env.Clock.Now,
	})
	return &server{env: env, h: h, logs: logs}
}

// request describes one call.
type request struct {
	method, path string
	body         string
	header       map[string]string
	peer         *x509.Certificate // TLS client certificate
}

func (s *server) do(t *testing.T, r request) *httptest.ResponseRecorder {
	t.Helper()
	var body io.Reader
	if r.body != "" {
		body = strings.NewReader(r.body)
	}
	req := httptest.NewRequest(r.method, r.path, body)
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	if r.peer != nil {
		req.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{r.peer}}
	}
	w := httptest.NewRecorder()
	s.h.ServeHTTP(w, req)
	return w
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// wantError checks a step-ca error response: status, JSON content type and
// body {"status":..,"message":..} with exactly msg (when set).
func wantError(t *testing.T, w *httptest.ResponseRecorder, status int, msg string) {
	t.Helper()
	if w.Code != status {
		t.Fatalf("status %d, want %d; body %s", w.Code, status, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q", ct)
	}
	var e wire.Error
	dec := json.NewDecoder(bytes.NewReader(w.Body.Bytes()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		t.Fatalf("error body %q: %v", w.Body, err)
	}
	if e.Status != status || (msg != "" && e.Message != msg) {
		t.Fatalf("error body %+v, want status %d message %q", e, status, msg)
	}
}

// decode decodes a successful JSON response into v.
func decode(t *testing.T, w *httptest.ResponseRecorder, status int, v any) {
	t.Helper()
	if w.Code != status {
		t.Fatalf("status %d, want %d; body %s", w.Code, status, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q", ct)
	}
	if !strings.HasSuffix(w.Body.String(), "}\n") {
		t.Fatalf("body does not end with a newline: %q", w.Body)
	}
	if err := json.Unmarshal(w.Body.Bytes(), v); err != nil {
		t.Fatalf("body %q: %v", w.Body, err)
	}
}

// signBody is a /sign request body as the CLI sends it.
func signBody(t *testing.T, csrPEM, ott, notAfter string) string {
	t.Helper()
	return mustJSON(t, map[string]string{"csr": csrPEM, "ott": ott, "notBefore": "", "notAfter": notAfter})
}
