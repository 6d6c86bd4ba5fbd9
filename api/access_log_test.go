package api_test

import (
	"encoding/json"
	"strings"
	"testing"

	at "github.com/mayfly-pki/mayfly/authority/authoritytest"
)

// TestLogValuesAreBounded: request values that reach the access log (here
// the user agent and path) are cut to a bound with a marker; a request ID
// that long is not echoed at all (TestRequestID).
func TestLogValuesAreBounded(t *testing.T) {
	t.Parallel()
	s := newServer(t, at.Options{})
	long := strings.Repeat("u", 100000)
	w := s.do(t, request{method: "GET", path: "/root/" + strings.Repeat("f", 100), header: map[string]string{"X-Request-Id": long, "User-Agent": long}})
	if w.Code != 404 {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	logs := s.logs.String()
	if len(logs) > 2048 {
		t.Fatalf("the log line is %d bytes long:\n%.500s...", len(logs), logs)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(logs), &m); err != nil {
		t.Fatalf("log line %q: %v", logs, err)
	}
	if id, _ := m["request-id"].(string); id != w.Header().Get("X-Request-Id") || len(id) > 128 {
		t.Fatalf("request-id = %.300q, want the response's new ID", id)
	}
	for _, k := range []string{"user-agent"} {
		v, _ := m[k].(string)
		if !strings.HasPrefix(v, strings.Repeat("u", 200)) || !strings.Contains(v, "[truncated, 100000 bytes]") {
			t.Fatalf("%s = %q, want it cut with a marker", k, v)
		}
	}
}
