package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// scrape GETs url until every want is a line of the exposition (the request
// counter is updated after the response is written, so a scrape may come
// before it), failing with the last body after a deadline.
func scrape(t *testing.T, url string, wants ...string) string {
	t.Helper()
	deadline := time.Now().Add(commandTimeout)
	var body string
	for {
		resp, err := http.Get(url)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			body = string(b)
			missing := false
			for _, w := range wants {
				missing = missing || !strings.Contains(body, "\n"+w+"\n")
			}
			if !missing {
				return body
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: want lines %q; last error %v, body:\n%s", url, wants, err, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestObservability: metricsAddress serves Prometheus metrics that count
// what step did (an issue, a refused replay, a renewal); /ready answers;
// the hash-chained audit log records each decision without the token, and
// `step-ca audit verify` accepts it and reports a tampered line (issue 20).
func TestObservability(t *testing.T) {
	t.Parallel()
	p := initPKI(t)
	metricsAddr, _ := freeAddr(t)
	auditPath := filepath.Join(t.TempDir(), "audit.log")
	editConfig(t, p.configPath(), func(cfg map[string]any) {
		cfg["metricsAddress"] = metricsAddr
		cfg["audit"] = map[string]any{"file": auditPath, "hashChain": true}
	})
	if r := p.op.stepCA(p.configPath(), "--validate-config"); r.code != 0 {
		t.Fatalf("--validate-config refuses metricsAddress and audit:\n%s", r)
	}
	ca := p.start(t)
	ca.waitLog(t, 0, "Serving metrics on http://"+metricsAddr+"/metrics")
	u := p.client(t)
	pw := u.path("password.txt")

	if r := do(t, httpsClient(p), "GET", p.url+"/ready", nil); r.status != 200 || r.String() != `{"status":"ok"}` {
		t.Fatalf("GET /ready = %d %s", r.status, r)
	}
	tok := strings.TrimSpace(u.ok(t, "ca", "token", "obs.example.com", "--provisioner-password-file", pw).stdout)
	u.ok(t, "ca", "certificate", "obs.example.com", u.path("obs.crt"), u.path("obs.key"), "--token", tok)
	u.fails(t, "ca", "certificate", "obs.example.com", u.path("again.crt"), u.path("again.key"), "--token", tok)
	mustNotExist(t, u.path("again.crt"))
	u.ok(t, "ca", "renew", "--force", u.path("obs.crt"), u.path("obs.key"))

	body := scrape(t, "http://"+metricsAddr+"/metrics",
		`mayfly_certificates_total{operation="sign",provisioner="admin",result="ok"} 1`,
		`mayfly_certificates_total{operation="sign",provisioner="admin",result="unauthorized"} 1`,
		`mayfly_certificates_total{operation="renew",provisioner="admin",result="ok"} 1`,
		`mayfly_token_replays_total{provisioner="admin"} 1`,
		`mayfly_http_requests_total{route="/sign",status="201"} 1`,
		`mayfly_http_requests_total{route="/sign",status="401"} 1`,
		`mayfly_http_requests_total{route="/ready",status="200"} 1`,
	)
	for _, want := range []string{
		`mayfly_http_request_duration_seconds_count{route="/sign"} 2`,
		`mayfly_ca_certificate_expiry_timestamp_seconds{role="root",`,
		`mayfly_ca_certificate_expiry_timestamp_seconds{role="issuer",`,
		`mayfly_build_info{`,
		`mayfly_db_commit_duration_seconds_count{backend="badger"} `,
		`mayfly_db_commit_batch_size_count{backend="badger"} `,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the metrics have no %s", want)
		}
	}
	if strings.Contains(body, "obs.example.com") {
		t.Error("a request value became a metric label")
	}

	ca.stop(t)
	b := readFile(t, auditPath)
	if strings.Contains(string(b), tok) || strings.Contains(string(b), "eyJ") {
		t.Fatal("the audit log holds a token")
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("want 3 audit lines (issue, refuse, renew), got:\n%s", b)
	}
	for i, want := range []string{"issue", "refuse", "renew"} {
		var rec map[string]any
		if err := json.Unmarshal([]byte(lines[i]), &rec); err != nil {
			t.Fatal(err)
		}
		if rec["decision"] != want || rec["provisioner"] != "admin" || rec["requestId"] == nil || !strings.HasPrefix(rec["clientAddress"].(string), "127.0.0.1:") {
			t.Errorf("line %d: %s", i+1, lines[i])
		}
		if i == 1 && !strings.Contains(rec["reason"].(string), "token already used") {
			t.Errorf("the refusal does not say why: %s", lines[i])
		}
	}

	v := p.op.stepCA("audit", "verify", auditPath)
	if v.code != 0 || !strings.Contains(v.stdout, "3 lines, hash chain intact") {
		t.Fatalf("audit verify of an intact log:\n%s", v)
	}
	lines[1] = strings.Replace(lines[1], `"outcome":"unauthorized"`, `"outcome":"ok"`, 1)
	if err := os.WriteFile(auditPath, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	v = p.op.stepCA("audit", "verify", auditPath)
	if v.code != 1 || !strings.Contains(v.stderr, "line 2: the line does not match its hash") {
		t.Fatalf("audit verify of a tampered log:\n%s", v)
	}
}
