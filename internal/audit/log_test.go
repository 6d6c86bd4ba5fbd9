package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func record(serial string) *Record {
	nb := time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)
	na := nb.Add(24 * time.Hour)
	return &Record{
		Time: nb, Decision: Issue, Operation: "sign", RequestID: "req-" + serial, ClientAddress: "127.0.0.1:5555",
		Provisioner: "admin", Subject: "CN=a.example.com", SANs: []string{"a.example.com"}, Serial: serial,
		NotBefore: &nb, NotAfter: &na, Outcome: "ok",
	}
}

// writeChain writes n chained records to a new file and returns its path.
func writeChain(t *testing.T, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "audit.log")
	l, err := Open(Options{Path: path, Chain: true})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		l.Record(context.Background(), record(strings.Repeat("1", i+1)))
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func verifyFile(t *testing.T, path string) (VerifyResult, error) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return Verify(f)
}

func TestRecordLine(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	l, err := Open(Options{Out: &buf})
	if err != nil {
		t.Fatal(err)
	}
	l.Record(context.Background(), record("42"))
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 1 {
		t.Fatalf("want one line, got %q", buf.String())
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &got); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{
		"decision": "issue", "operation": "sign", "requestId": "req-42", "clientAddress": "127.0.0.1:5555",
		"provisioner": "admin", "subject": "CN=a.example.com", "serial": "42", "outcome": "ok",
		"notBefore": "2026-12-07T03:00:00Z", "notAfter": "2026-12-08T03:00:00Z",
	} {
		if got[k] != want {
			t.Errorf("%s = %v, want %v", k, got[k], want)
		}
	}
	if _, ok := got["hash"]; ok {
		t.Errorf("an unchained log has no hash: %s", lines[0])
	}
}

func TestRecordBounds(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	l, _ := Open(Options{Out: &buf})
	r := record("1")
	r.Subject = strings.Repeat("x", 100000)
	r.SANs = make([]string, 5000)
	for i := range r.SANs {
		r.SANs[i] = strings.Repeat("s", 1000)
	}
	l.Record(context.Background(), r)
	if buf.Len() > 20000 {
		t.Fatalf("a record of a huge request is %d bytes", buf.Len())
	}
	if !strings.Contains(buf.String(), "4968 more") || !strings.Contains(buf.String(), "truncated, 100000 bytes") {
		t.Fatalf("clipped values are not marked: %.300s", buf.String())
	}
}

func TestChainVerifies(t *testing.T) {
	t.Parallel()
	path := writeChain(t, 5)
	res, err := verifyFile(t, path)
	if err != nil {
		t.Fatal(err)
	}
	if res.Lines != 5 || len(res.Head) != 64 {
		t.Fatalf("got %+v", res)
	}
	// Reopening continues the chain.
	l, err := Open(Options{Path: path, Chain: true})
	if err != nil {
		t.Fatal(err)
	}
	l.Record(context.Background(), record("777"))
	_ = l.Close()
	res2, err := verifyFile(t, path)
	if err != nil {
		t.Fatalf("after reopening: %v", err)
	}
	if res2.Lines != 6 || res2.Head == res.Head {
		t.Fatalf("got %+v after %+v", res2, res)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", fi.Mode())
	}
}

func TestChainDetectsTampering(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		edit     func(lines []string) []string
		wantLine string
		wantMsg  string
	}{
		"edited value": {func(l []string) []string {
			l[2] = strings.Replace(l[2], `"outcome":"ok"`, `"outcome":"no"`, 1)
			return l
		}, "line 3", "changed"},
		"edited last line": {func(l []string) []string {
			l[4] = strings.Replace(l[4], `"serial":"11111"`, `"serial":"99999"`, 1)
			return l
		}, "line 5", "changed"},
		"removed line":  {func(l []string) []string { return append(l[:1], l[2:]...) }, "line 2", "broken"},
		"swapped lines": {func(l []string) []string { l[1], l[2] = l[2], l[1]; return l }, "line 2", "broken"},
		"hash removed": {func(l []string) []string {
			l[0] = l[0][:strings.Index(l[0], `,"hash"`)] + "}"
			return l
		}, "line 1", "no hash"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			path := writeChain(t, 5)
			b, _ := os.ReadFile(path)
			lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
			lines = tc.edit(lines)
			if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := verifyFile(t, path)
			if err == nil || !strings.Contains(err.Error(), tc.wantLine+":") || !strings.Contains(err.Error(), tc.wantMsg) {
				t.Fatalf("got %v, want %s: ...%s...", err, tc.wantLine, tc.wantMsg)
			}
		})
	}
}

func TestOpenRefusesUnchainedTail(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "audit.log")
	l, _ := Open(Options{Path: path})
	l.Record(context.Background(), record("1"))
	_ = l.Close()
	if _, err := Open(Options{Path: path, Chain: true}); err == nil || !strings.Contains(err.Error(), "cannot continue the hash chain") {
		t.Fatalf("got %v", err)
	}
}

func TestRequestContext(t *testing.T) {
	t.Parallel()
	if RequestFrom(context.Background()) != nil {
		t.Fatal("a bare context carries no request")
	}
	ctx := WithRequest(context.Background(), &Request{ID: "x", ClientAddress: "y"})
	if r := RequestFrom(ctx); r == nil || r.ID != "x" || r.ClientAddress != "y" {
		t.Fatalf("got %+v", r)
	}
}

func FuzzVerify(f *testing.F) {
	f.Add([]byte(`{"time":"2026-12-07T03:00:00Z","decision":"issue","operation":"sign","outcome":"ok","hash":"` + strings.Repeat("0", 64) + `"}` + "\n"))
	f.Add([]byte("\n\n{}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = Verify(bytes.NewReader(b))
	})
}
