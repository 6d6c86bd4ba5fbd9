package ca

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/mayfly-pki/mayfly/authority/config"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/app"
	"github.com/mayfly-pki/mayfly/internal/pemutil"
)

// initTestEnv points STEPPATH at a fresh directory, clears the STEP_* variables
// the command reads, and replaces stdin with /dev/null (not a terminal) for
// the test. Tests using it cannot run in parallel (environment, os.Stdin).
func initTestEnv(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "step")
	t.Setenv("STEPPATH", dir)
	t.Setenv("HOME", t.TempDir())
	for _, f := range initFlags() {
		t.Setenv(app.EnvName(f.Names()[0]), "")
	}
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	stdin := os.Stdin
	os.Stdin = devnull
	t.Cleanup(func() {
		os.Stdin = stdin
		_ = devnull.Close()
	})
	return dir
}

func initTestRun(t *testing.T, args ...string) (int, string) {
	t.Helper()
	a := app.New(&cli.Command{Name: "ca", Subcommands: []*cli.Command{InitCommand()}})
	var stderr bytes.Buffer
	a.Writer = &bytes.Buffer{}
	code := app.Run(a, append([]string{"step", "ca", "init"}, args...), &stderr)
	return code, stderr.String()
}

func initTestPasswordFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "pass")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestInitCommand(t *testing.T) {
	dir := initTestEnv(t)
	caPass, provPass := initTestPasswordFile(t, "ca-pass\n"), initTestPasswordFile(t, "prov-pass \n")
	args := []string{"--name", "Test CA", "--dns", "localhost", "--dns", "127.0.0.1", "--address", "127.0.0.1:19443",
		"--provisioner", "admin", "--password-file", caPass, "--provisioner-password-file", provPass}
	code, out := initTestRun(t, args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	certs, err := pemutil.ReadCertificates(filepath.Join(dir, "certs", "root_ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf(`Generating root certificate... done!
Generating intermediate certificate... done!

✔ Root certificate: %[1]s/certs/root_ca.crt
✔ Root private key: %[1]s/secrets/root_ca_key
✔ Root fingerprint: %[2]s
✔ Intermediate certificate: %[1]s/certs/intermediate_ca.crt
✔ Intermediate private key: %[1]s/secrets/intermediate_ca_key
✔ Database folder: %[1]s/db
✔ Default configuration: %[1]s/config/defaults.json
✔ Certificate Authority configuration: %[1]s/config/ca.json

Your PKI is ready to go. To generate certificates for individual services see 'step help ca'.
`, dir, pemutil.Fingerprint(certs[0]))
	if out != want {
		t.Fatalf("output:\n%s\nwant:\n%s", out, want)
	}
	cfg, err := config.Load(filepath.Join(dir, "config", "ca.json"))
	if err != nil {
		t.Fatalf("ca.json: %v", err)
	}
	if got := strings.Join(cfg.DNSNames, ","); got != "localhost,127.0.0.1" || cfg.Address != "127.0.0.1:19443" {
		t.Fatalf("dnsNames %q address %q", got, cfg.Address)
	}
	var prov struct{ Type, Name string }
	if err := json.Unmarshal(cfg.Authority.Provisioners[0], &prov); err != nil || prov.Type != "JWK" || prov.Name != "admin" {
		t.Fatalf("provisioner %+v (%v)", prov, err)
	}
	key, _ := os.ReadFile(filepath.Join(dir, "secrets", "intermediate_ca_key"))
	if _, err := pemutil.ParsePrivateKey(key, []byte("ca-pass")); err != nil {
		t.Fatalf("intermediate key does not open with the trimmed --password-file: %v", err)
	}

	// Again without --force: refused, naming the file. defaults.json now
	// holds "root", which the framework feeds to --root: it must be ignored.
	code, out = initTestRun(t, args...)
	if wantErr := dir + "/certs/root_ca.crt already exists: use --force to overwrite\n"; code != 1 || out != wantErr {
		t.Fatalf("second init: exit %d %q, want 1 %q", code, out, wantErr)
	}

	// --pki --force: only certificates and keys, fewer lines.
	code, out = initTestRun(t, "--pki", "--force", "--name", "Other", "--password-file", caPass)
	if code != 0 {
		t.Fatalf("--pki --force: exit %d: %s", code, out)
	}
	if strings.Contains(out, "configuration") || !strings.Contains(out, "✔ Intermediate private key: ") {
		t.Fatalf("--pki output:\n%s", out)
	}
	certs, _ = pemutil.ReadCertificates(filepath.Join(dir, "certs", "root_ca.crt"))
	if certs[0].Subject.CommonName != "Other Root CA" {
		t.Fatalf("--force did not replace the root: CN %q", certs[0].Subject.CommonName)
	}
}

func TestInitCommandErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no name", []string{"--dns", "a", "--address", ":9000", "--provisioner", "p", "--password-file", "@PW@"}, "flag --name is required (stdin is not a terminal)"},
		{"no dns", []string{"--name", "n", "--address", ":9000", "--provisioner", "p", "--password-file", "@PW@"}, "flag --dns is required (stdin is not a terminal)"},
		{"no address", []string{"--name", "n", "--dns", "a", "--provisioner", "p", "--password-file", "@PW@"}, "flag --address is required (stdin is not a terminal)"},
		{"no provisioner", []string{"--name", "n", "--dns", "a", "--address", ":9000", "--password-file", "@PW@"}, "flag --provisioner is required (stdin is not a terminal)"},
		{"no password", []string{"--name", "n", "--dns", "a", "--address", ":9000", "--provisioner", "p"}, "flag --password-file is required (stdin is not a terminal)"},
		{"ssh is accepted, the rest still checked", []string{"--ssh"}, "flag --name is required (stdin is not a terminal)"},
		{"remote management without db", []string{"--name", "n", "--dns", "a", "--address", ":9000", "--provisioner", "p", "--password-file", "@PW@", "--remote-management", "--no-db"}, "--remote-management needs the database"},
		{"kms", []string{"--kms", "azurekms"}, "only pkcs11: URIs are supported by step ca init"},
		{"kms-root without kms", []string{"--kms-root", "pkcs11:id=1;object=r"}, "requires the '--kms' flag"},
		{"linked", []string{"--deployment-type", "linked"}, `deployment type "linked" is not supported: only "standalone" is (--deployment-type)`},
		{"root without key", []string{"--root", "/x/root.crt"}, "flag --root requires --key"},
		{"key without root", []string{"--key", "/x/root.key"}, "flag --key requires --root"},
		{"positional", []string{"extra"}, "too many positional arguments"},
		{"small rsa", []string{"--kty", "RSA", "--size", "1024"}, "minimum is 2048"},
		{"bad address", []string{"--name", "n", "--dns", "a", "--address", "nohost", "--provisioner", "p", "--password-file", "@PW@"}, `invalid address "nohost"`},
		{"bad password file", []string{"--name", "n", "--pki", "--password-file", "/nonexistent/pw"}, "/nonexistent/pw"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := initTestEnv(t)
			pw := initTestPasswordFile(t, "pw")
			args := make([]string, len(tt.args))
			for i, a := range tt.args {
				args[i] = strings.ReplaceAll(a, "@PW@", pw)
			}
			code, out := initTestRun(t, args...)
			if code != 1 || !strings.Contains(out, tt.want) || strings.Count(out, "\n") != 1 {
				t.Fatalf("exit %d, stderr %q: want exit 1 and one line containing %q", code, out, tt.want)
			}
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Fatalf("%s created despite the error", dir)
			}
		})
	}
}

// TestInitDNSCommaList: --dns takes a comma separated list as well as
// repeated flags (the app passes slice values whole; init splits them).
func TestInitDNSCommaList(t *testing.T) {
	dir := initTestEnv(t)
	pass := initTestPasswordFile(t, "ca-pass\n")
	code, out := initTestRun(t, "--name", "Test CA", "--dns", "localhost, 127.0.0.1", "--dns", "ca.internal", "--address", ":9000",
		"--provisioner", "admin", "--password-file", pass)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	cfg, err := config.Load(filepath.Join(dir, "config", "ca.json"))
	if err != nil {
		t.Fatalf("ca.json: %v", err)
	}
	if got := strings.Join(cfg.DNSNames, " "); got != "localhost 127.0.0.1 ca.internal" {
		t.Fatalf("dnsNames = %q", got)
	}
}
