package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/mayfly-pki/mayfly/api"
	"github.com/mayfly-pki/mayfly/authority"
	at "github.com/mayfly-pki/mayfly/authority/authoritytest"
)

func TestReadyEndpoint(t *testing.T) {
	t.Parallel()
	st := at.OpenBadger(t)
	s := newServer(t, at.Options{Store: st})
	for _, path := range []string{"/ready", "/1.0/ready"} {
		w := s.do(t, request{method: "GET", path: path})
		if w.Code != http.StatusOK || strings.TrimSpace(w.Body.String()) != `{"status":"ok"}` {
			t.Fatalf("GET %s = %d %s", path, w.Code, w.Body)
		}
	}
	_ = st.Close()
	w := s.do(t, request{method: "GET", path: "/ready"})
	if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), `"status":503`) {
		t.Fatalf("GET /ready with the database closed = %d %s", w.Code, w.Body)
	}
	// /health is unchanged: the process serves.
	if w := s.do(t, request{method: "GET", path: "/health"}); w.Code != http.StatusOK {
		t.Fatalf("GET /health = %d", w.Code)
	}
}

// requestMeter records meter.Requests calls.
type requestMeter struct {
	mu  sync.Mutex
	got []string
}

func (m *requestMeter) Request(route string, status int, _ time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.got = append(m.got, route+" "+http.StatusText(status))
}

func TestRequestsAreMeteredByRoute(t *testing.T) {
	t.Parallel()
	env := at.New(t, at.Options{})
	m := &requestMeter{}
	logger := logrus.New()
	logger.Out = &lockedBuffer{}
	h := api.New(api.Deps{
		Authority:  func() *authority.Authority { return env.Authority },
		TLSOptions: func() json.RawMessage { return json.RawMessage(tlsOptions) },
		Logger:     logger, Now: env.Clock.Now, Meter: m,
	})
	s := &server{env: env, h: h}
	s.do(t, request{method: "GET", path: "/1.0/root/" + strings.Repeat("ab", 32)})
	s.do(t, request{method: "GET", path: "/health"})
	s.do(t, request{method: "POST", path: "/1.0/sign", body: "{"})
	want := []string{"/1.0/root/{sha} Not Found", "/health OK", "/1.0/sign Bad Request"}
	if strings.Join(m.got, "|") != strings.Join(want, "|") {
		t.Fatalf("metered %q, want %q", m.got, want)
	}
}
