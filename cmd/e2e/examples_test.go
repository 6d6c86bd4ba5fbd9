package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func exampleBin(name string) string { return filepath.Join(binDir, name) }

// launchProgram starts bin with args (the environment of u) and returns it
// as a process whose log can be waited on; it is stopped when t ends.
func launchProgram(t *testing.T, u *user, bin string, args ...string) *caProcess {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = u.dir
	cmd.Env = commandEnv(u.home, u.stepPath)
	log := newLogBuffer()
	cmd.Stdout, cmd.Stderr = log, log
	cmd.WaitDelay = 5 * time.Second
	dieWithTest(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	p := &caProcess{cmd: cmd, log: log, exited: make(chan struct{}), code: -1}
	go func() {
		err := cmd.Wait()
		var exitErr *exec.ExitError
		switch {
		case err == nil:
			p.code = 0
		case errors.As(err, &exitErr):
			p.code = exitErr.ExitCode()
		}
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("%s %s, last lines of its log:\n%s", filepath.Base(bin), strings.Join(args, " "), log.tail(40))
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
