package e2e

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func exampleBin(name string) string { return filepath.Join(binDir, name) }

// launchProgram starts bin with args (the environment of u) and returns it
// as a process whose log can be waited on; it is stopped when t ends.
func launchProgram(t *testing.T, u *user, bin string, args ...string) *caProcess {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = u.dir
	cmd.Env = commandEnv(u.home, u.stepPath)
	p := startProcess(t, cmd, bin)
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("%s %s, last lines of its log:\n%s", filepath.Base(bin), strings.Join(args, " "), p.log.tail(40))
		}
	})
	return p
}

// TestExampleMTLS runs examples/mtls-server and examples/mtls-client against
// a real CA: both bootstrap by fingerprint and get certificates with tokens
// from `step ca token`; the client's call over mTLS is answered; the server
// renews its short-lived certificate by itself and the next handshake
// presents the renewed one (issue 20).
func TestExampleMTLS(t *testing.T) {
	t.Parallel()
	p := initPKI(t)
	editConfig(t, p.configPath(), func(cfg map[string]any) {
		cfg["authority"].(map[string]any)["claims"] = map[string]any{"minTLSCertDuration": "5s"}
	})
	p.start(t)
	u := p.client(t)
	pw := u.path("password.txt")
	token := func(sub string) string {
		return strings.TrimSpace(u.ok(t, "ca", "token", sub, "--provisioner-password-file", pw).stdout)
	}

	srv := launchProgram(t, u, exampleBin("mtls-server"), "--ca-url", p.url, "--fingerprint", p.fp,
		"--name", "localhost", "--token", token("localhost"), "--addr", "127.0.0.1:0", "--not-after", "15s")
	line := srv.waitLog(t, 0, "serving mTLS on https://")
	addr := line[strings.Index(line, "https://")+len("https://"):]
	first := regexp.MustCompile(`got certificate: serial (\d+)`).FindStringSubmatch(srv.log.tail(40))
	if first == nil {
		t.Fatalf("the server does not log its certificate:\n%s", srv.log.tail(40))
	}

	call := func(name string) string {
		t.Helper()
		r := runBinary(exampleBin("mtls-client"), u.dir, commandEnv(u.home, u.stepPath), commandTimeout,
			"--ca-url", p.url, "--fingerprint", p.fp, "--name", name, "--token", token(name),
			"--url", "https://localhost/", "--connect", addr)
		if r.code != 0 {
			t.Fatalf("mtls-client:\n%s", r)
		}
		if !strings.HasPrefix(r.stdout, "hello "+name+", from localhost") {
			t.Fatalf("mtls-client printed:\n%s", r)
		}
		return r.stdout
	}
	out := call("client.example.com")
	if !strings.Contains(out, "server certificate serial "+first[1]) {
		t.Fatalf("the handshake did not present the server's certificate %s:\n%s", first[1], out)
	}

	// A client without a certificate from the CA is refused by the server.
	roots := x509.NewCertPool()
	roots.AddCert(p.root)
	anon := &http.Client{Timeout: commandTimeout, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: "localhost"}}}
	if resp, err := anon.Get("https://" + addr + "/"); err == nil {
		resp.Body.Close()
		t.Fatalf("a client without a certificate was answered %s", resp.Status)
	} else if !strings.Contains(err.Error(), "certificate required") {
		t.Fatalf("a client without a certificate: %v, want a TLS certificate-required alert", err)
	}

	renewed := srv.waitLog(t, 0, "renewed certificate: serial ")
	serial := regexp.MustCompile(`serial (\d+)`).FindStringSubmatch(renewed)[1]
	if serial == first[1] {
		t.Fatalf("renewal kept the serial: %s", renewed)
	}
	out = call("client2.example.com")
	if !strings.Contains(out, "server certificate serial ") || strings.Contains(out, "server certificate serial "+first[1]+"\n") {
		t.Fatalf("after the renewal the handshake still presents the first certificate:\n%s", out)
	}
}

// exampleConfigs returns examples/configs/*.json by name, with /etc/step-ca
// (the samples' STEPPATH) replaced by caPath.
func exampleConfigs(t *testing.T, caPath string) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "..", "examples", "configs", "*.json"))
	if err != nil || len(files) < 12 {
		t.Fatalf("examples/configs: %d files, %v", len(files), err)
	}
	out := map[string][]byte{}
	for _, f := range files {
		out[filepath.Base(f)] = bytes.ReplaceAll(readFile(t, f), []byte("/etc/step-ca"), []byte(caPath))
	}
	return out
}

// TestExampleConfigs: every sample ca.json (one per provisioner type,
// PostgreSQL HA, PKCS#11) passes `step-ca --validate-config` against a real
// CA's files, and a CA started with the provisioners of every served type
// loads each of them without disabling one (issue 20).
func TestExampleConfigs(t *testing.T) {
	t.Parallel()
	p := initPKI(t)
	configs := exampleConfigs(t, p.caPath)
	for name, data := range configs {
		path := filepath.Join(p.caPath, "config", name)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if r := p.op.stepCA(path, "--validate-config"); r.code != 0 {
			t.Errorf("examples/configs/%s:\n%s", name, r)
		}
	}

	// One CA with every served type's sample provisioner (ACME is served
	// by its own issue) next to the CA's own admin, on the CA's database.
	editConfig(t, p.configPath(), func(cfg map[string]any) {
		for name, data := range configs {
			if name == "ca.jwk.json" || name == "ca.acme.json" || name == "ca.pkcs11.json" || name == "ca.postgresql-ha.json" {
				continue
			}
			var sample map[string]any
			if err := json.Unmarshal(data, &sample); err != nil {
				t.Fatal(err)
			}
			for _, prov := range sample["authority"].(map[string]any)["provisioners"].([]any) {
				if prov.(map[string]any)["type"] != "JWK" {
					addProvisioner(cfg, prov.(map[string]any))
				}
			}
		}
	})
	ca := p.start(t)
	// The SCEP sample has no RSA decrypter (examples/configs/README.md
	// says how to add one): step-ca warns, as it does.
	ca.waitLog(t, 0, `SCEP provisioner "scep" does not have a decrypter certificate`)
	if strings.Contains(ca.log.tail(100), "failed to initialize") || strings.Contains(ca.log.tail(100), "disabled") {
		t.Fatalf("a sample provisioner did not load:\n%s", ca.log.tail(100))
	}
	r := do(t, httpsClient(p), "GET", p.url+"/provisioners?limit=100", nil)
	var list struct {
		Provisioners []struct{ Type, Name string } `json:"provisioners"`
	}
	if err := json.Unmarshal(r.body, &list); err != nil || r.status != 200 {
		t.Fatalf("GET /provisioners: %d %s", r.status, r)
	}
	got := map[string]bool{}
	for _, pr := range list.Provisioners {
		got[strings.ToUpper(pr.Type)] = true
	}
	for _, want := range []string{"JWK", "X5C", "K8SSA", "OIDC", "AWS", "GCP", "AZURE", "SCEP", "NEBULA"} {
		if !got[want] {
			t.Errorf("GET /provisioners does not list the %s sample: %s", want, r)
		}
	}
}

// TestExampleHAWalkthrough runs examples/ha-postgresql.sh with our binaries
// against the PostgreSQL on 127.0.0.1: two nodes on one database, a token
// used on one refused on the other, a revocation on one seen by the other.
func TestExampleHAWalkthrough(t *testing.T) {
	t.Parallel()
	needBinaries(t)
	if _, err := exec.LookPath("jq"); err != nil {
		t.Fatalf("the walkthrough needs jq (make deps installs it): %v", err)
	}
	db := haPostgres.database(t)
	_, port1 := freeAddr(t)
	_, port2 := freeAddr(t)
	script, err := filepath.Abs(filepath.Join("..", "..", "examples", "ha-postgresql.sh"))
	if err != nil {
		t.Fatal(err)
	}
	u := newUser(t, filepath.Join(t.TempDir(), "unused"))
	env := append(commandEnv(u.home, u.stepPath), "STEP="+stepBin(), "STEP_CA="+stepCABin(),
		"PG="+haPostgres.caDSN, "DB="+db, "PORT1="+port1, "PORT2="+port2)
	r := runBinary("/bin/bash", u.dir, env, 3*commandTimeout, script)
	if r.code != 0 {
		t.Fatalf("examples/ha-postgresql.sh:\n%s", r)
	}
	for _, want := range []string{"node 2 refused the replayed token", "has been revoked", "node 1 refused to renew the revoked certificate", "==> Done"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("the walkthrough does not say %q:\n%s", want, r)
		}
	}
}
