package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return b
}

// A ca.json exactly as `step ca init` writes it must come back byte for byte.
func TestGoldenInitRoundTrip(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"ca_init.json", "ca_init_ssh.json"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			src := filepath.Join("testdata", name)
			want := readFile(t, src)
			if bytes.HasSuffix(want, []byte("\n")) {
				t.Fatalf("%s must have no trailing newline, as step ca init writes it", src)
			}
			c, err := Load(src)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if len(c.UnknownKeys) != 0 {
				t.Fatalf("UnknownKeys = %v, want none", c.UnknownKeys)
			}
			out := filepath.Join(t.TempDir(), "ca.json")
			if err := Save(out, c.AsLoaded(), false); err != nil {
				t.Fatalf("Save: %v", err)
			}
			if got := readFile(t, out); !bytes.Equal(got, want) {
				t.Fatalf("Save(AsLoaded) differs from %s:\n--- got\n%s\n--- want\n%s", src, got, want)
			}
			withNL, err := Marshal(c.AsLoaded(), true)
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			if !bytes.Equal(withNL, append(bytes.Clone(want), '\n')) {
				t.Fatalf("Marshal(trailingNewline) is not the file plus one newline")
			}
		})
	}
}

// "Load, change, Save" writes what `step ca provisioner add` writes: the
// defaults step-ca fills at load time appear (backdate, template {},
// commonName), and a trailing newline.
func TestGoldenProvisionerRewrite(t *testing.T) {
	t.Parallel()
	c, err := Load(filepath.Join("testdata", "ca_init.json"))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	c.Authority.Provisioners = append(c.Authority.Provisioners,
		json.RawMessage(`{"type":"ACME","name":"acme","claims":{"enableSSHCA":true,"disableRenewal":false,"allowRenewalAfterExpiry":false,"disableSmallstepExtensions":false},"options":{"x509":{},"ssh":{}}}`))
	golden := filepath.Join("testdata", "ca_init_rewritten.json")
	out := filepath.Join(t.TempDir(), "ca.json")
	if err := Save(out, c, true); err != nil {
		t.Fatalf("Save: %v", err)
	}
	got := readFile(t, out)
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if want := readFile(t, golden); !bytes.Equal(got, want) {
		t.Fatalf("rewrite differs from %s:\n--- got\n%s\n--- want\n%s", golden, got, want)
	}
	for _, s := range []string{"\t\t\"template\": {},\n", "\t\t\"backdate\": \"1m0s\"\n", "\t\"commonName\": \"Step Online CA\"\n}\n"} {
		if !bytes.Contains(got, []byte(s)) {
			t.Fatalf("rewrite lacks %q", s)
		}
	}
	if bytes.Contains(got, []byte("renewPeriod")) || bytes.Contains(got, []byte("traceHeader")) {
		t.Fatalf("rewrite contains defaults step-ca does not write")
	}
}

func TestLoadRichConfig(t *testing.T) {
	t.Parallel()
	c, err := Load(filepath.Join("testdata", "rich.json"))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if len(c.UnknownKeys) != 0 {
		t.Fatalf("UnknownKeys = %v, want none", c.UnknownKeys)
	}
	if got := c.Roots(); len(got) != 2 || got[1] != "/etc/step-ca/certs/root_ca_2024.crt" {
		t.Fatalf("Roots() = %v", got)
	}
	if c.KMS == nil || c.KMS.Type != "pkcs11" {
		t.Fatalf("kms = %+v", c.KMS)
	}
	if c.SSH == nil || len(c.SSH.Keys) != 1 || !c.SSH.Keys[0].Federated || c.SSH.Bastion.Port != "2222" {
		t.Fatalf("ssh = %+v", c.SSH)
	}
	if got := len(c.Authority.Provisioners); got != 10 {
		t.Fatalf("%d provisioners, want 10", got)
	}
	if typ, name, err := ProvisionerHeader(c.Authority.Provisioners[9]); err != nil || typ != "FutureProvisioner" || name != "from-a-newer-step-ca" {
		t.Fatalf("ProvisionerHeader = %q %q %v", typ, name, err)
	}
	if c.Authority.Backdate.Duration != 2*time.Minute {
		t.Fatalf("backdate = %v", c.Authority.Backdate)
	}
	if c.Authority.Template.Organization != "Example Corp" {
		t.Fatalf("template = %+v", c.Authority.Template)
	}
	if got := c.Authority.Policy.X509.Allow.IPRanges; len(got) != 2 || got[0] != "10.0.0.0/8" {
		t.Fatalf("policy ip = %v", got)
	}
	if c.LoggerFormat() != "json" || c.TraceHeader() != "X-Trace-Id" {
		t.Fatalf("logger = %+v", c.Logger)
	}
	if c.CRL.RenewInterval() != 24*time.Hour {
		t.Fatalf("RenewInterval = %v", c.CRL.RenewInterval())
	}
	if got := c.Templates.Data["port"]; got != json.Number("2222") {
		t.Fatalf("templates.data.port = %#v", got)
	}
	if c.CommonName != "Example Online CA" || c.MetricsAddress != "127.0.0.1:9090" {
		t.Fatalf("commonName/metricsAddress = %q %q", c.CommonName, c.MetricsAddress)
	}
	r, err := c.ResolveTLS()
	if err != nil {
		t.Fatalf("ResolveTLS: %v", err)
	}
	if len(r.CipherSuites) != 3 || r.CipherSuites[0] != 0xcca9 || r.CipherSuites[2] != 0x1301 {
		t.Fatalf("cipher ids = %#x", r.CipherSuites)
	}

	// What we write, we read back identically.
	b1, err := Marshal(c, true)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := Parse(b1, "rewritten.json")
	if err != nil {
		t.Fatalf("re-Parse: %v", err)
	}
	b2, err := Marshal(c2, true)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b1, b2) {
		t.Fatalf("Marshal is not stable across Parse:\n%s\n---\n%s", b1, b2)
	}
	if !bytes.Contains(b1, []byte("sslmode=verify-full&sslrootcert")) {
		t.Fatalf("HTML characters were escaped")
	}
}

func TestBrokenConfigReportsEveryProblem(t *testing.T) {
	t.Parallel()
	path := filepath.Join("testdata", "broken.json")
	c, err := Load(path)
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("Load error = %v (%T), want *ValidationError", err, err)
	}
	if c == nil {
		t.Fatalf("Load returned no config alongside a validation error")
	}
	if ve.File != path {
		t.Fatalf("File = %q, want %q", ve.File, path)
	}
	want := map[string]string{
		"address":                                 "missing port",
		"insecureAddress":                         "invalid port",
		"crt":                                     "required",
		"key":                                     "required",
		"dnsNames[1]":                             "bad name!",
		"tls.cipherSuites[0]":                     "TLS_FAKE_SUITE",
		"tls.minVersion":                          "greater than",
		"authority.deploymentType":                "cloud",
		"authority.provisioners[1].name":          "duplicate provisioner name \"admin\"",
		"authority.provisioners[2].type":          "missing",
		"authority.provisioners[3]":               "expected an object",
		"authority.provisioners[5].type":          "at most one K8sSA",
		"authority.claims.minTLSCertDuration":     "minTLSCertDuration 48h0m0s is greater than maxTLSCertDuration",
		"authority.backdate":                      "negative",
		"authority.policy.x509.allow.dns[0]":      "wildcard",
		"authority.policy.x509.allow.ip[0]":       "300.1.1.1",
		"authority.policy.ssh.host.deny.email[0]": "more than one @",
		"logger.format":                           "xml",
		"db.type":                                 "sqlite",
		"db.dataSource":                           "required",
		"templates.ssh.user[0].type":              "weird",
		"templates.data.Step":                     "reserved",
		"crl.renewPeriod":                         "greater than crl.cacheDuration",
	}
	got := map[string]string{}
	for _, p := range ve.Problems {
		if prev, dup := got[p.Path]; dup {
			t.Fatalf("two problems at %s: %q and %q", p.Path, prev, p.Message)
		}
		got[p.Path] = p.Message
	}
	for path, sub := range want {
		msg, ok := got[path]
		if !ok {
			t.Errorf("no problem reported at %s (got %v)", path, ve.Problems)
			continue
		}
		if !strings.Contains(msg, sub) {
			t.Errorf("%s: message %q does not mention %q", path, msg, sub)
		}
	}
	if len(ve.Problems) != len(want) {
		t.Errorf("%d problems, want %d:\n%v", len(ve.Problems), len(want), err)
	}
	if lines := strings.Count(err.Error(), "\n"); lines != len(want) {
		t.Errorf("Error() has %d problem lines, want %d", lines, len(want))
	}
	if !strings.HasPrefix(err.Error(), path+": 23 problems:\n  ") {
		t.Errorf("Error() header = %q", strings.SplitN(err.Error(), "\n", 2)[0])
	}
	if got, want := strings.Join(c.UnknownKeys, ","), "authority.claimz,extra"; got != want {
		t.Errorf("UnknownKeys = %q, want %q", got, want)
	}
}

func TestSaveKeepsModeAndIsAtomic(t *testing.T) {
	t.Parallel()
	c, err := Load(filepath.Join("testdata", "ca_init.json"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	tests := []struct {
		name     string
		existing os.FileMode // 0: no file yet
		want     os.FileMode
	}{
		{"new file", 0, 0o644},
		{"existing 0600", 0o600, 0o600},
		{"existing 0640", 0o640, 0o640},
	}
	for _, tt := range tests {
		path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_")+".json")
		if tt.existing != 0 {
			if err := os.WriteFile(path, []byte("old"), tt.existing); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tt.existing); err != nil {
				t.Fatal(err)
			}
		}
		if err := Save(path, c, true); err != nil {
			t.Fatalf("%s: Save: %v", tt.name, err)
		}
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != tt.want {
			t.Errorf("%s: mode %v, want %v", tt.name, st.Mode().Perm(), tt.want)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(tests) {
		t.Fatalf("directory holds %d entries (temp files left?), want %d", len(entries), len(tests))
	}
	if err := Save(filepath.Join(dir, "missing", "ca.json"), c, false); err == nil {
		t.Fatalf("Save into a missing directory succeeded")
	}
	if err := Save(filepath.Join(dir, "nil.json"), nil, false); err == nil {
		t.Fatalf("Save(nil) succeeded")
	}
}

func TestLoadMissingFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "nope.json")
	_, err := Load(path)
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), path) {
		t.Fatalf("Load(missing) = %v", err)
	}
}

func TestAsLoadedIgnoresLaterChanges(t *testing.T) {
	t.Parallel()
	c, err := Load(filepath.Join("testdata", "ca_init.json"))
	if err != nil {
		t.Fatal(err)
	}
	c.Address = "0.0.0.0:443"
	orig := c.AsLoaded()
	if orig.Address != "127.0.0.1:19443" || orig.CommonName != "" || orig.Authority.Backdate != nil {
		t.Fatalf("AsLoaded = address %q commonName %q backdate %v", orig.Address, orig.CommonName, orig.Authority.Backdate)
	}
	if orig.Source() != c.Source() || c.Source() != filepath.Join("testdata", "ca_init.json") {
		t.Fatalf("Source = %q / %q", orig.Source(), c.Source())
	}
	if (&Config{}).AsLoaded() != nil {
		t.Fatalf("AsLoaded of a config built in code is not nil")
	}
}
