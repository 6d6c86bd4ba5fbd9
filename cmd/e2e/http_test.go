package e2e

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// httpsClient returns a client that trusts only p's root and dials p.addr
// whatever the URL's host resolves to (URLs use https://localhost:port).
func httpsClient(p *testPKI) *http.Client {
	roots := x509.NewCertPool()
	roots.AddCert(p.root)
	dialer := &net.Dialer{Timeout: 30 * time.Second}
	return &http.Client{
		Timeout: commandTimeout,
		Transport: &http.Transport{
			TLSClientConfig:   &tls.Config{RootCAs: roots, ServerName: "localhost"},
			ForceAttemptHTTP2: true,
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return dialer.DialContext(ctx, network, p.addr)
			},
		},
	}
}

// response is a finished HTTP exchange.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) String() string {
	return strings.TrimSpace(string(r.body))
}

// do sends one request, with the given headers, and reads the whole response.
func do(t *testing.T, c *http.Client, method, url string, body []byte, headers ...string) response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read the body: %v", method, url, err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// jsonError is step-ca's error body (wire-spec §3.2).
func jsonError(status int, message string) string {
	return mustJSON(struct {
		Status  int    `json:"status"`
		Message string `json:"message"`
	}{status, message})
}

// TestHTTP talks to a running CA with a plain Go HTTPS client (wire-spec §3)
// and checks that SIGHUP reloads ca.json.
func TestHTTP(t *testing.T) {
	t.Parallel()
	p := initPKI(t)
	ca := p.start(t)
	c := httpsClient(p)
	rootPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.root.Raw}))
	crts := func(t *testing.T, r response) {
		t.Helper()
		var v struct {
			Crts []string `json:"crts"`
		}
		if err := json.Unmarshal(r.body, &v); err != nil || len(v.Crts) != 1 || v.Crts[0] != rootPEM {
			t.Fatalf("want {\"crts\":[<root PEM>]}, got %s", r)
		}
	}
	exactly := func(want string) func(*testing.T, response) {
		return func(t *testing.T, r response) {
			t.Helper()
			if string(r.body) != want {
				t.Fatalf("body %q, want %q", r.body, want)
			}
		}
	}
	errorBody := func(status int, message string) func(*testing.T, response) {
		return exactly(jsonError(status, message) + "\n")
	}

	garbageCSR, _ := json.Marshal(map[string]string{"csr": "garbage", "ott": "x"})
	badSigCSR, _ := json.Marshal(map[string]string{"csr": tamperedCSR(t), "ott": "x"})
	oversized := append(append([]byte(`{"csr":"`), bytes.Repeat([]byte("A"), 256<<10)...), `"}`...)

	tests := []struct {
		name        string
		method      string
		path        string
		body        []byte
		status      int
		contentType string
		check       func(*testing.T, response)
	}{
		{"health", "GET", "/health", nil, 200, "application/json", exactly(`{"status":"ok"}` + "\n")},
		{"health under 1.0", "GET", "/1.0/health", nil, 200, "application/json", exactly(`{"status":"ok"}` + "\n")},
		{"version", "GET", "/version", nil, 200, "application/json", func(t *testing.T, r response) {
			var v map[string]any
			if err := json.Unmarshal(r.body, &v); err != nil || v["version"] == "" || v["version"] == nil {
				t.Fatalf("want {\"version\":\"...\"}, got %s", r)
			}
		}},
		{"roots answers 201", "GET", "/roots", nil, 201, "application/json", crts},
		{"roots under 1.0", "GET", "/1.0/roots", nil, 201, "application/json", crts},
		{"roots.pem", "GET", "/roots.pem", nil, 200, "application/x-pem-file", exactly(rootPEM)},
		{"root by fingerprint", "GET", "/root/" + p.fp, nil, 200, "application/json", exactly(mustJSON(map[string]string{"ca": rootPEM}) + "\n")},
		{"root by upper-case fingerprint", "GET", "/root/" + strings.ToUpper(p.fp), nil, 200, "application/json", exactly(mustJSON(map[string]string{"ca": rootPEM}) + "\n")},
		{"root by unknown fingerprint", "GET", "/root/" + strings.Repeat("0", 64), nil, 404, "application/json",
			errorBody(404, `root certificate with fingerprint "`+strings.Repeat("0", 64)+`" was not found`)},
		{"provisioners", "GET", "/provisioners", nil, 200, "application/json", func(t *testing.T, r response) {
			var v struct {
				Provisioners []struct {
					Name string `json:"name"`
				} `json:"provisioners"`
				NextCursor *string `json:"nextCursor"`
			}
			if err := json.Unmarshal(r.body, &v); err != nil || len(v.Provisioners) != 1 || v.Provisioners[0].Name != "admin" || v.NextCursor == nil {
				t.Fatalf("want the admin provisioner and a nextCursor, got %s", r)
			}
		}},
		{"provisioners with a non-integer limit", "GET", "/provisioners?limit=abc", nil, 400, "application/json",
			errorBody(400, "The request could not be completed: limit 'abc' is not an integer.")},
		{"unknown path", "GET", "/no/such/path", nil, 404, "text/plain; charset=utf-8", exactly("404 page not found\n")},
		{"wrong method", "GET", "/sign", nil, 405, "", func(t *testing.T, r response) {
			if len(r.body) != 0 || r.header.Get("Allow") != "POST" {
				t.Fatalf("want an empty body and Allow: POST, got Allow %q and %q", r.header.Get("Allow"), r.body)
			}
		}},
		{"oversized body", "POST", "/sign", oversized, 413, "", nil},
		{"garbage CSR", "POST", "/sign", garbageCSR, 400, "application/json",
			errorBody(400, "The request could not be completed: invalid csr.")},
		{"CSR with a bad signature", "POST", "/sign", badSigCSR, 400, "application/json",
			errorBody(400, "The request could not be completed: invalid csr.")},
		{"malformed JSON", "POST", "/sign", []byte(`{"csr":`), 400, "application/json",
			errorBody(400, "The request could not be completed: error decoding json.")},
	}
	t.Run("request IDs are echoed", func(t *testing.T) {
		for _, tt := range []struct{ path, header, id string }{
			{"/health", "X-Request-Id", "e2e-request-1"},
			{"/no/such/path", "X-Request-Id", "e2e-request-2"},
			{"/health", "X-Smallstep-Id", "e2e-legacy-3"},
		} {
			r := do(t, c, "GET", p.url+tt.path, nil, tt.header, tt.id)
			if got := r.header.Get("X-Request-Id"); got != tt.id {
				t.Fatalf("GET %s with %s: %s: X-Request-Id %q, want it echoed", tt.path, tt.header, tt.id, got)
			}
		}
	})

	// t.Run of the group returns once all its parallel subtests are done,
	// so the reload below cannot disturb them.
	t.Run("endpoints", func(t *testing.T) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				r := do(t, c, tt.method, p.url+tt.path, tt.body)
				if r.status != tt.status {
					t.Fatalf("%s %s: status %d, want %d; body: %s", tt.method, tt.path, r.status, tt.status, r)
				}
				if ct := r.header.Get("Content-Type"); tt.contentType != "" && ct != tt.contentType {
					t.Fatalf("%s %s: Content-Type %q, want %q", tt.method, tt.path, ct, tt.contentType)
				}
				if r.header.Get("X-Request-Id") == "" {
					t.Fatalf("%s %s: no X-Request-Id header", tt.method, tt.path)
				}
				if tt.check != nil {
					tt.check(t, r)
				}
			})
		}
	})

	t.Run("SIGHUP reloads ca.json", func(t *testing.T) {
		u := p.client(t)
		pw := u.path("password.txt")
		crt, key := u.path("long.crt"), u.path("long.key")
		r := u.fails(t, "ca", "certificate", "long.example.com", crt, key, "--not-after", "40h", "--provisioner-password-file", pw)
		if !strings.Contains(r.stderr, "The request was forbidden by the certificate authority") {
			t.Fatalf("want a 403 for 40h before the reload (default maximum 24h):\n%s", r)
		}
		mustNotExist(t, crt)

		setMaxTLSCertDuration(t, p.configPath(), "48h")
		mark := ca.log.mark()
		ca.signal(t, syscall.SIGHUP)
		ca.waitLog(t, mark, "reloaded", "reload failed")

		before := time.Now()
		u.ok(t, "ca", "certificate", "long.example.com", crt, key, "--not-after", "40h", "--provisioner-password-file", pw)
		checkIssued(t, p, crt, key, "long.example.com", 40*time.Hour, before, time.Now())
	})
}

// setMaxTLSCertDuration sets authority.claims.maxTLSCertDuration in the
// ca.json at path, as an operator editing the file would.
func setMaxTLSCertDuration(t *testing.T, path, d string) {
	t.Helper()
	var cfg map[string]any
	dec := json.NewDecoder(bytes.NewReader(readFile(t, path)))
	dec.UseNumber()
	if err := dec.Decode(&cfg); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	auth, ok := cfg["authority"].(map[string]any)
	if !ok {
		t.Fatalf("%s has no authority object", path)
	}
	auth["claims"] = map[string]any{"maxTLSCertDuration": d}
	out, err := json.MarshalIndent(cfg, "", "\t")
	if err != nil {
		t.Fatalf("encode %s: %v", path, err)
	}
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
}

// tamperedCSR returns a well-formed PEM CSR whose signature does not verify.
func tamperedCSR(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("generate a key: %v", err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: "tampered.example.com"}, DNSNames: []string{"tampered.example.com"},
	}, key)
	if err != nil {
		t.Fatalf("create a CSR: %v", err)
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		t.Fatalf("parse the CSR: %v", err)
	}
	// Change one byte of the signed subject (the CN's last letter): the
	// structure stays valid, the signature no longer matches.
	i := bytes.LastIndex(der, []byte("tampered.example.com"))
	if i < 0 || csr.CheckSignature() != nil {
		t.Fatalf("unexpected CSR encoding")
	}
	der[i] = 'T'
	if bad, err := x509.ParseCertificateRequest(der); err != nil || bad.CheckSignature() == nil {
		t.Fatalf("the tampered CSR must parse and fail its signature check (parse error: %v)", err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
}

// mustJSON encodes v as compact JSON.
func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}
