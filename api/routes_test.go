package api_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/mayfly-pki/mayfly/api"
	"github.com/mayfly-pki/mayfly/api/wire"
	at "github.com/mayfly-pki/mayfly/authority/authoritytest"
)

var prefixes = []string{"", "/1.0"}

func TestReadRoutes(t *testing.T) {
	t.Parallel()
	s := newServer(t, at.Options{AdminExtra: map[string]any{"encryptedKey": "eyJhbGciOiJQQkVTMi1IUzI1NitBMTI4S1ciLCJlbmMiOiJBMjU2R0NNIn0.x.y.z.w"}})
	root, inter := s.env.PKI.Root, s.env.PKI.Intermediate
	sum := sha256.Sum256(root.Raw)
	rootSum := hex.EncodeToString(sum[:])
	rootPEM, interPEM := at.CertPEM(root), at.CertPEM(inter)
	for _, p := range prefixes {
		t.Run("prefix"+p, func(t *testing.T) {
			t.Parallel()
			w := s.do(t, request{method: "GET", path: p + "/health"})
			if w.Code != 200 || w.Body.String() != "{\"status\":\"ok\"}\n" || w.Header().Get("Content-Type") != "application/json" {
				t.Fatalf("/health: %d %q", w.Code, w.Body)
			}
			w = s.do(t, request{method: "GET", path: p + "/version"})
			if w.Code != 200 || w.Body.String() != "{\"version\":\"0.1.2\"}\n" {
				t.Fatalf("/version: %d %q", w.Code, w.Body)
			}

			var root wire.RootResponse
			decode(t, s.do(t, request{method: "GET", path: p + "/root/" + strings.ToUpper(rootSum)}), 200, &root)
			if root.RootPEM != rootPEM {
				t.Fatalf("/root: %q", root.RootPEM)
			}
			wantError(t, s.do(t, request{method: "GET", path: p + "/root/" + strings.Repeat("0", 64)}), 404,
				fmt.Sprintf("root certificate with fingerprint %q was not found", strings.Repeat("0", 64)))

			for _, tc := range []struct {
				path string
				want []string
			}{
				{"/roots", []string{rootPEM}},
				{"/federation", []string{rootPEM}},
				{"/intermediates", []string{interPEM}},
			} {
				var crts wire.CertificatesResponse
				decode(t, s.do(t, request{method: "GET", path: p + tc.path}), http.StatusCreated, &crts)
				if strings.Join(crts.Certificates, "|") != strings.Join(tc.want, "|") {
					t.Fatalf("%s: %q", tc.path, crts.Certificates)
				}
			}
			for _, tc := range []struct{ path, want string }{{"/roots.pem", rootPEM}, {"/intermediates.pem", interPEM}} {
				w := s.do(t, request{method: "GET", path: p + tc.path})
				if w.Code != 200 || w.Header().Get("Content-Type") != "application/x-pem-file" || w.Body.String() != tc.want {
					t.Fatalf("%s: %d %s %q", tc.path, w.Code, w.Header().Get("Content-Type"), w.Body)
				}
			}

			var key wire.EncryptedKeyResponse
			decode(t, s.do(t, request{method: "GET", path: p + "/provisioners/" + s.env.Admin.Key.KeyID + "/encrypted-key"}), 200, &key)
			if !strings.HasPrefix(key.Key, "eyJhbGciOiJQQkVTMi") {
				t.Fatalf("encrypted key %q", key.Key)
			}
			wantError(t, s.do(t, request{method: "GET", path: p + "/provisioners/nope/encrypted-key"}), 404,
				"The requested resource could not be found. Please see the certificate authority logs for more info.")

			var provs wire.ProvisionersResponse
			decode(t, s.do(t, request{method: "GET", path: p + "/provisioners"}), 200, &provs)
			if len(provs.Provisioners) != 1 || provs.NextCursor != "" {
				t.Fatalf("/provisioners: %+v", provs)
			}
		})
	}
}

func TestProvisionersPaging(t *testing.T) {
	t.Parallel()
	var more []json.RawMessage
	for i := range 24 {
		more = append(more, json.RawMessage(fmt.Sprintf(`{"type":"OIDC","name":"oidc-%02d","clientID":"c%d"}`, i, i)))
	}
	s := newServer(t, at.Options{MoreProvisioners: more})
	page := func(query string) wire.ProvisionersResponse {
		t.Helper()
		var r wire.ProvisionersResponse
		decode(t, s.do(t, request{method: "GET", path: "/1.0/provisioners" + query}), 200, &r)
		return r
	}
	names := func(r wire.ProvisionersResponse) []string {
		var out []string
		for _, p := range r.Provisioners {
			var b struct{ Name string }
			if err := json.Unmarshal(p, &b); err != nil {
				t.Fatal(err)
			}
			out = append(out, b.Name)
		}
		return out
	}

	first := page("")
	if len(first.Provisioners) != 20 || first.NextCursor == "" || strings.HasPrefix(first.NextCursor, "0") {
		t.Fatalf("default page: %d items, cursor %q", len(first.Provisioners), first.NextCursor)
	}
	if got := names(first)[0]; got != "admin" {
		t.Fatalf("first provisioner %q", got)
	}
	// The item is the ca.json entry (compacted).
	if string(first.Provisioners[0]) != string(s.env.Admin.Entry(t, nil)) {
		t.Fatalf("admin entry %s\nwant %s", first.Provisioners[0], s.env.Admin.Entry(t, nil))
	}
	rest := page("?cursor=" + first.NextCursor + "&limit=100")
	if len(rest.Provisioners) != 5 || rest.NextCursor != "" || names(rest)[0] != "oidc-19" {
		t.Fatalf("second page: %v, cursor %q", names(rest), rest.NextCursor)
	}
	small := page("?limit=2")
	if strings.Join(names(small), ",") != "admin,oidc-00" {
		t.Fatalf("limit=2: %v", names(small))
	}
	if next := page("?limit=2&cursor=" + small.NextCursor); strings.Join(names(next), ",") != "oidc-01,oidc-02" {
		t.Fatalf("after cursor: %v", names(next))
	}
	if r := page("?limit=0"); len(r.Provisioners) != 20 {
		t.Fatalf("limit=0: %d", len(r.Provisioners))
	}
	if r := page("?limit=-3"); len(r.Provisioners) != 20 {
		t.Fatalf("limit=-3: %d", len(r.Provisioners))
	}
	if r := page("?cursor=" + strings.Repeat("f", 40)); len(r.Provisioners) != 0 || r.NextCursor != "" {
		t.Fatalf("cursor past the end: %+v", r)
	}
	// Failed provisioners are listed with their state.
	var uninit map[string]any
	if err := json.Unmarshal(first.Provisioners[1], &uninit); err != nil || uninit["state"] != "Uninitialized" {
		t.Fatalf("uninitialized entry %s", first.Provisioners[1])
	}

	wantError(t, s.do(t, request{method: "GET", path: "/provisioners?limit=abc"}), 400,
		"The request could not be completed: limit 'abc' is not an integer.")
	wantError(t, s.do(t, request{method: "GET", path: "/provisioners?limit=1.5"}), 400,
		"The request could not be completed: limit '1.5' is not an integer.")
}

func TestNotFound(t *testing.T) {
	t.Parallel()
	s := newServer(t, at.Options{})
	for _, path := range []string{"/nope", "/1.0/nope", "/2.0/health", "/1.0", "/health/", "/acme/x/directory", "/root/"} {
		w := s.do(t, request{method: "GET", path: path, header: map[string]string{"X-Request-Id": "rid-404"}})
		if w.Code != 404 || w.Body.String() != "404 page not found\n" || w.Header().Get("Content-Type") != "text/plain; charset=utf-8" ||
			w.Header().Get("X-Content-Type-Options") != "nosniff" {
			t.Fatalf("GET %s: %d %q %v", path, w.Code, w.Body, w.Header())
		}
		if w.Header().Get("X-Request-Id") != "rid-404" {
			t.Fatalf("GET %s: X-Request-Id %q, want the echo", path, w.Header().Get("X-Request-Id"))
		}
	}
}

func TestMethodNotAllowed(t *testing.T) {
	t.Parallel()
	s := newServer(t, at.Options{})
	tests := []struct{ method, path, allow string }{
		{"POST", "/health", "GET"},
		{"DELETE", "/1.0/roots", "GET"},
		{"GET", "/sign", "POST"},
		{"GET", "/1.0/revoke", "POST"},
		{"HEAD", "/sign", "POST"},
		{"PUT", "/1.0/renew", "POST"},
	}
	for _, tc := range tests {
		w := s.do(t, request{method: tc.method, path: tc.path})
		if w.Code != 405 || w.Body.Len() != 0 {
			t.Fatalf("%s %s: %d %q", tc.method, tc.path, w.Code, w.Body)
		}
		if got := w.Header().Values("Allow"); len(got) == 0 || got[0] != tc.allow {
			t.Fatalf("%s %s: Allow %q, want %q", tc.method, tc.path, got, tc.allow)
		}
		if w.Header().Get("X-Request-Id") == "" {
			t.Fatalf("%s %s: no X-Request-Id", tc.method, tc.path)
		}
	}
}

// TestHead runs a real HTTP server: HEAD answers like GET without a body.
func TestHead(t *testing.T) {
	t.Parallel()
	s := newServer(t, at.Options{})
	srv := httptest.NewServer(s.h)
	defer srv.Close()
	for _, tc := range []struct {
		path   string
		status int
	}{{"/health", 200}, {"/1.0/roots", 201}, {"/roots.pem", 200}, {"/1.0/provisioners", 200}} {
		get, err := http.Get(srv.URL + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(get.Body)
		get.Body.Close()
		resp, err := http.Head(srv.URL + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		headBody, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || len(headBody) != 0 {
			t.Fatalf("HEAD %s: %d, %d body bytes", tc.path, resp.StatusCode, len(headBody))
		}
		if resp.ContentLength != int64(len(body)) || resp.Header.Get("Content-Type") != get.Header.Get("Content-Type") {
			t.Fatalf("HEAD %s: Content-Length %d (GET body %d), Content-Type %q", tc.path, resp.ContentLength, len(body), resp.Header.Get("Content-Type"))
		}
	}
}

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestRequestID(t *testing.T) {
	t.Parallel()
	s := newServer(t, at.Options{})
	tests := []struct {
		name   string
		header map[string]string
		want   string // "" = a new UUIDv4
	}{
		{"echo", map[string]string{"X-Request-Id": "abc-123"}, "abc-123"},
		{"legacy", map[string]string{api.LegacyTraceHeader: "legacy-1"}, "legacy-1"},
		{"both", map[string]string{"X-Request-Id": "new", api.LegacyTraceHeader: "old"}, "new"},
		{"generated", nil, ""},
		// A client's ID is copied into every response header: a long or
		// non-printable one is replaced, and the legacy header is used.
		{"too long", map[string]string{"X-Request-Id": strings.Repeat("a", 129)}, ""},
		{"longest echoed", map[string]string{"X-Request-Id": strings.Repeat("a", 128)}, strings.Repeat("a", 128)},
		{"control character", map[string]string{"X-Request-Id": "a\x7fb"}, ""},
		{"too long, legacy", map[string]string{"X-Request-Id": strings.Repeat("a", 10000), api.LegacyTraceHeader: "old"}, "old"},
	}
	for _, tc := range tests {
		for _, path := range []string{"/health", "/sign", "/missing"} {
			method := "GET"
			if path == "/sign" {
				method = "POST"
			}
			w := s.do(t, request{method: method, path: path, body: "{", header: tc.header})
			got := w.Header().Values("X-Request-Id")
			if len(got) != 1 {
				t.Fatalf("%s %s: X-Request-Id values %q", tc.name, path, got)
			}
			if tc.want != "" && got[0] != tc.want || tc.want == "" && !uuidV4.MatchString(got[0]) {
				t.Fatalf("%s %s: X-Request-Id %q, want %q", tc.name, path, got[0], tc.want)
			}
		}
	}
	a := s.do(t, request{method: "GET", path: "/health"}).Header().Get("X-Request-Id")
	b := s.do(t, request{method: "GET", path: "/health"}).Header().Get("X-Request-Id")
	if a == b {
		t.Fatal("generated request IDs repeat")
	}
	// The log line carries the same ID as the response.
	w := s.do(t, request{method: "GET", path: "/version"})
	if id := w.Header().Get("X-Request-Id"); !strings.Contains(s.logs.String(), `"request-id":"`+id+`"`) {
		t.Fatalf("log does not carry request id %s", id)
	}
}

func TestBodyLimits(t *testing.T) {
	t.Parallel()
	s := newServer(t, at.Options{})
	typed := map[string][]string{"/sign": {`{"csr":1}`, `{"notAfter":"soon"}`}, "/1.0/revoke": {`{"serial":1}`, `{"reasonCode":"1"}`}}
	for p, typed := range typed {
		for _, body := range append([]string{"{", "not json", "[", `{"ott":true}`, " "}, typed...) {
			wantError(t, s.do(t, request{method: "POST", path: p, body: body}), 400,
				"The request could not be completed: error decoding json.")
		}
		wantError(t, s.do(t, request{method: "POST", path: p}), 400, "The request could not be completed: error decoding json.")

		big := `{"csr":"` + strings.Repeat("A", api.MaxBodySize) + `"}`
		wantError(t, s.do(t, request{method: "POST", path: p, body: big}), http.StatusRequestEntityTooLarge, "")
		// Exactly MaxBodySize bytes is still read.
		pad := `{"x":"` + strings.Repeat(" ", api.MaxBodySize-len(`{"x":""}`)) + `"}`
		if len(pad) != api.MaxBodySize {
			t.Fatalf("pad is %d bytes", len(pad))
		}
		if w := s.do(t, request{method: "POST", path: p, body: pad}); w.Code != 400 || strings.Contains(w.Body.String(), "decoding json") {
			t.Fatalf("POST %s with %d bytes: %d %s", p, len(pad), w.Code, w.Body)
		}
	}
	// Unknown fields and any content type are accepted.
	w := s.do(t, request{method: "POST", path: "/sign", body: `{"unknown":true,"csr":""}`, header: map[string]string{"Content-Type": "text/plain"}})
	wantError(t, w, 400, "The request could not be completed: missing csr.")
}
