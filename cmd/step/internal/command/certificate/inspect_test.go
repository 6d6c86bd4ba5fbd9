package certificate

import (
	"encoding/json"
	"flag"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/mayfly-pki/mayfly/cmd/step/internal/steptest"
	"github.com/mayfly-pki/mayfly/internal/pemutil"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func cmds() []*cli.Command { return []*cli.Command{Command()} }

func run(t *testing.T, args ...string) steptest.Result {
	t.Helper()
	return steptest.Run(t, cmds, nil, args...)
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file: %v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Fatalf("output differs from %s:\n--- got ---\n%s\n--- want ---\n%s", path, got, want)
	}
}

func TestInspectGolden(t *testing.T) {
	t.Setenv("STEPPATH", t.TempDir())
	tests := []struct {
		golden string
		args   string
	}{
		{"leaf.crt.text", "certificate inspect testdata/leaf.crt"},
		{"leaf.crt.short", "certificate inspect testdata/leaf.crt --short"},
		{"leaf.crt.json", "certificate inspect --format json testdata/leaf.crt"},
		{"leaf.crt.pem", "certificate inspect testdata/leaf.crt --format pem"},
		{"bundle.crt.short", "certificate inspect --bundle --short testdata/bundle.crt"},
		{"leaf.csr.text", "certificate inspect testdata/leaf.csr"},
		{"leaf.csr.short", "certificate inspect testdata/leaf.csr --short"},
		{"leaf.csr.json", "certificate inspect testdata/leaf.csr --format json"},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			r := run(t, strings.Fields(tt.args)...)
			if r.Code != 0 {
				t.Fatalf("exit %d: %s", r.Code, r.Stderr)
			}
			golden(t, tt.golden, r.Stdout)
		})
	}
}

func TestInspectJSONKeys(t *testing.T) {
	t.Setenv("STEPPATH", t.TempDir())
	r := run(t, "certificate", "inspect", "testdata/leaf.crt", "--format", "json")
	var m map[string]any
	if err := json.Unmarshal([]byte(r.Stdout), &m); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	for _, k := range []string{"version", "serial_number", "signature_algorithm", "issuer", "issuer_dn", "validity",
		"subject", "subject_dn", "subject_key_info", "extensions", "signature", "fingerprint_md5", "fingerprint_sha1", "fingerprint_sha256"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON output lacks key %q", k)
		}
	}
	if m["serial_number"] != "24197857200151252728969465429440056815" {
		t.Errorf("serial_number = %v", m["serial_number"])
	}
	r = run(t, "certificate", "inspect", "testdata/bundle.crt", "--format", "json", "--bundle")
	var list []map[string]any
	if err := json.Unmarshal([]byte(r.Stdout), &list); err != nil || len(list) != 2 {
		t.Fatalf("--bundle JSON: %d items, %v", len(list), err)
	}
}

func TestInspectBadInput(t *testing.T) {
	t.Setenv("STEPPATH", t.TempDir())
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.crt")
	truncated := filepath.Join(dir, "truncated.crt")
	leaf, err := os.ReadFile("testdata/leaf.crt")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(garbage, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(truncated, leaf[:len(leaf)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	closed := closedPort(t)
	tests := []struct {
		name, args, want string
	}{
		{"missing file", "certificate inspect " + filepath.Join(dir, "nope.crt"), "nope.crt"},
		{"garbage", "certificate inspect " + garbage, garbage},
		{"truncated PEM", "certificate inspect " + truncated, truncated},
		{"host does not answer", "certificate inspect https://" + closed, closed},
		{"bad format", "certificate inspect testdata/leaf.crt --format xml", "--format"},
		{"no argument", "certificate inspect", "not enough positional arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, strings.Fields(tt.args)...)
			if r.Code != 1 || !strings.Contains(r.Stderr, tt.want) || strings.Count(r.Stderr, "\n") != 1 || r.Stdout != "" {
				t.Fatalf("exit %d stdout %q stderr %q; want exit 1 and one line naming %q", r.Code, r.Stdout, r.Stderr, tt.want)
			}
		})
	}
}

// closedPort returns a 127.0.0.1 address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestInspectRemote(t *testing.T) {
	t.Setenv("STEPPATH", t.TempDir())
	srv := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	dir := t.TempDir()
	root := filepath.Join(dir, "root.crt")
	if err := os.WriteFile(root, pemutil.EncodeCertificate(srv.Certificate()), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := strings.TrimPrefix(srv.URL, "https://")

	// Without trust the handshake fails, naming the host.
	r := run(t, "certificate", "inspect", srv.URL)
	if r.Code != 1 || !strings.Contains(r.Stderr, addr) {
		t.Fatalf("untrusted: exit %d stderr %q", r.Code, r.Stderr)
	}
	for _, args := range [][]string{
		{"certificate", "inspect", srv.URL, "--insecure", "--format", "pem"},
		{"certificate", "inspect", srv.URL, "--roots", root, "--format", "pem", "--servername", "example.com"},
		{"certificate", "inspect", "tls://" + addr, "--roots", dir, "--format", "pem", "--servername", "example.com"},
		{"certificate", "inspect", addr, "--insecure", "--format", "pem"},
	} {
		r := run(t, args...)
		if r.Code != 0 || r.Stdout != string(pemutil.EncodeCertificate(srv.Certificate())) {
			t.Fatalf("%q: exit %d stderr %q", args, r.Code, r.Stderr)
		}
	}
	// The fingerprint of a remote certificate.
	r = run(t, "certificate", "fingerprint", srv.URL, "--insecure")
	if r.Code != 0 || strings.TrimSpace(r.Stdout) != pemutil.Fingerprint(srv.Certificate()) {
		t.Fatalf("remote fingerprint: exit %d %q %q", r.Code, r.Stdout, r.Stderr)
	}
}
