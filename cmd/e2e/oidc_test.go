package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"io"
	"net"
	"net/url"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/mayfly-pki/mayfly/internal/oidctest"
	"github.com/mayfly-pki/mayfly/provisioner/token"
)

// interactive is a step command that prints an authorization URL on
// stderr and then waits for the login (a browser, or a code on stdin).
type interactive struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout bytes.Buffer
	mu     sync.Mutex
	stderr bytes.Buffer
	urls   chan string
	done   chan error
}

// startInteractive starts `step args...` for u; lines of stderr that start
// with prefix are sent on urls.
func (u *user) startInteractive(t *testing.T, prefix string, args ...string) *interactive {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, stepBin(), args...)
	cmd.Dir, cmd.Env, cmd.WaitDelay = u.dir, commandEnv(u.home, u.stepPath), 5*time.Second
	dieWithTest(cmd)
	in := &interactive{cmd: cmd, urls: make(chan string, 4), done: make(chan error, 1)}
	var err error
	if in.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = &in.stdout
	errPipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(errPipe)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			in.mu.Lock()
			in.stderr.WriteString(line + "\n")
			in.mu.Unlock()
			if strings.HasPrefix(line, prefix) {
				in.urls <- line
			}
		}
		in.done <- cmd.Wait()
	}()
	return in
}

func (in *interactive) stderrText() string {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.stderr.String()
}

// url waits for the authorization URL.
func (in *interactive) url(t *testing.T) string {
	t.Helper()
	select {
	case u := <-in.urls:
		return u
	case err := <-in.done:
		t.Fatalf("step exited (%v) before printing the authorization URL:\n%s", err, in.stderrText())
	case <-time.After(30 * time.Second):
		t.Fatalf("no authorization URL within 30s:\n%s", in.stderrText())
	}
	return ""
}

// wait waits for step to exit 0.
func (in *interactive) wait(t *testing.T) {
	t.Helper()
	select {
	case err := <-in.done:
		if err != nil {
			t.Fatalf("step: %v\nstdout:\n%s\nstderr:\n%s", err, in.stdout.String(), in.stderrText())
		}
	case <-time.After(commandTimeout):
		t.Fatalf("step did not exit within %s:\n%s", commandTimeout, in.stderrText())
	}
}

// TestOIDC: an OIDC provisioner added with `step ca provisioner add --type
// OIDC` for a real OpenID provider (zitadel's op) on loopback. `step ca
// certificate <email> --console` prints the authorization URL, the test
// signs in with the provider's login form and pastes the code; `step oauth
// --oidc --bare` gets an ID token through its loopback redirect listener,
// which `step ca certificate --token` then uses once. The certificates name
// the user as step-ca's OIDC does: CN = sub, SANs = email and <iss>#<sub>.
func TestOIDC(t *testing.T) {
	t.Parallel()
	op := oidctest.Start(t)
	p := initPKI(t)
	p.op.ok(t, "ca", "provisioner", "add", "sso", "--type", "OIDC", "--client-id", oidctest.ClientID,
		"--client-secret", oidctest.ClientSecret, "--configuration-endpoint", op.ConfigurationEndpoint(), "--domain", "zitadel.ch",
		"--admin", oidctest.Email)
	// A second OIDC provisioner whose provider is down from the start.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	downURL := "http://" + ln.Addr().String()
	ln.Close()
	p.op.ok(t, "ca", "provisioner", "add", "down", "--type", "OIDC", "--client-id", "down-client", "--configuration-endpoint", downURL)
	ca := p.start(t)
	u := p.client(t)
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()

	check := func(t *testing.T, crtFile string) {
		t.Helper()
		c := readCerts(t, crtFile)[0]
		if c.Subject.CommonName != oidctest.Subject || !slices.Equal(c.EmailAddresses, []string{oidctest.Email}) ||
			len(c.URIs) != 1 || c.URIs[0].String() != op.Issuer+"#"+oidctest.Subject || len(c.DNSNames) != 0 {
			t.Fatalf("subject %v, emails %v, URIs %v, DNS %v", c.Subject, c.EmailAddresses, c.URIs, c.DNSNames)
		}
		if ext := provisionerExtension(t, c); ext.typ != 2 || ext.name != "sso" {
			t.Fatalf("provisioner extension %+v, want OIDC (2) sso", ext)
		}
	}

	t.Run("console", func(t *testing.T) {
		crt, key := u.path("console.crt"), u.path("console.key")
		in := u.startInteractive(t, op.Issuer+"/auth?", "ca", "certificate", oidctest.Email, crt, key, "--provisioner", "sso", "--console")
		authURL := in.url(t)
		back, err := op.Login(ctx, authURL, false)
		if err != nil {
			t.Fatalf("login: %v", err)
		}
		if !strings.HasPrefix(back.String(), "urn:ietf:wg:oauth:2.0:oob") {
			t.Fatalf("redirected to %s, want the console redirect", back)
		}
		if _, err := io.WriteString(in.stdin, back.Query().Get("code")+"\n"); err != nil {
			t.Fatal(err)
		}
		in.wait(t)
		if s := in.stderrText(); !strings.Contains(s, "Provisioner: sso (OIDC) [client: "+oidctest.ClientID+"]") {
			t.Fatalf("provisioner selected:\n%s", s)
		}
		check(t, crt)
	})

	t.Run("admin revokes", func(t *testing.T) {
		// The test user is an admin: their ID token revokes a certificate
		// by serial (step ca revoke runs the same login).
		crt := u.path("victim.crt")
		u.ok(t, "ca", "certificate", "victim.example.com", crt, u.path("victim.key"),
			"--provisioner", "admin", "--provisioner-password-file", u.path("password.txt"))
		serial := readCerts(t, crt)[0].SerialNumber.String()
		in := u.startInteractive(t, op.Issuer+"/auth?", "ca", "revoke", serial, "--provisioner", "sso", "--console")
		back, err := op.Login(ctx, in.url(t), false)
		if err != nil {
			t.Fatalf("login: %v", err)
		}
		if _, err := io.WriteString(in.stdin, back.Query().Get("code")+"\n"); err != nil {
			t.Fatal(err)
		}
		in.wait(t)
		if out := in.stdout.String() + in.stderrText(); !strings.Contains(out, serial+" has been revoked") {
			t.Fatalf("revoke output:\n%s", out)
		}
		u.fails(t, "ca", "renew", crt, u.path("victim.key"), "--force")
	})

	t.Run("oauth then token", func(t *testing.T) {
		in := u.startInteractive(t, op.Issuer+"/auth?", "oauth", "--provider", op.ConfigurationEndpoint(),
			"--client-id", oidctest.ClientID, "--oidc", "--bare")
		authURL := in.url(t)
		q, err := url.Parse(authURL)
		if err != nil {
			t.Fatal(err)
		}
		if ru := q.Query().Get("redirect_uri"); !strings.HasPrefix(ru, "http://127.0.0.1:") || q.Query().Get("code_challenge_method") != "S256" {
			t.Fatalf("authorization URL %s: want a loopback redirect and PKCE S256", authURL)
		}
		if _, err := op.Login(ctx, authURL, true); err != nil {
			t.Fatalf("login: %v", err)
		}
		in.wait(t)
		idt := strings.TrimSpace(in.stdout.String())
		_, payload := tokenParts(t, idt)
		if payload["iss"] != op.Issuer || payload["email"] != oidctest.Email || payload["azp"] != oidctest.ClientID {
			t.Fatalf("ID token payload %v", payload)
		}
		crt, key := u.path("token.crt"), u.path("token.key")
		u.ok(t, "ca", "certificate", oidctest.Email, crt, key, "--token", idt)
		check(t, crt)
		// An ID token is used once.
		u.fails(t, "ca", "certificate", oidctest.Email, u.path("again.crt"), u.path("again.key"), "--token", idt)
		mustNotExist(t, u.path("again.crt"))
		// The argument must be the token's email, as step checks.
		r := u.fails(t, "ca", "certificate", "someone@else.example", u.path("x.crt"), u.path("x.key"), "--token", idt)
		if !strings.Contains(r.stderr, "do not match") {
			t.Fatalf("mismatched email:\n%s", r)
		}
	})

	t.Run("provider down at start", func(t *testing.T) {
		// An ID token for the provisioner whose provider never answered is
		// refused at once with the reason; the others keep working.
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		idt, err := token.Sign(&jose.JSONWebKey{Key: key, KeyID: "k1", Algorithm: string(jose.ES256)}, &token.Claims{
			Issuer: downURL, Subject: "1", Audience: token.Audience{"down-client"}, Expiry: token.NewNumericDate(now.Add(5 * time.Minute)),
			IssuedAt: token.NewNumericDate(now), NotBefore: token.NewNumericDate(now),
		}, nil)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		r := u.fails(t, "ca", "certificate", "x.example.com", u.path("d.crt"), u.path("d.key"), "--token", idt)
		if d := time.Since(start); d > 10*time.Second {
			t.Fatalf("refusal took %s", d)
		}
		if !strings.Contains(r.stderr, "'503'") {
			t.Fatalf("provider down, want 503:\n%s", r)
		}
		u.ok(t, "ca", "certificate", "jwk0.example.com", u.path("jwk0.crt"), u.path("jwk0.key"),
			"--provisioner", "admin", "--provisioner-password-file", u.path("password.txt"))
		// The refresher says why, and the refused request's log line too.
		ca.waitLog(t, 0, "could not be refreshed")
		ca.waitLog(t, 0, `the identity provider of OIDC provisioner`)
	})

	t.Run("provider down", func(t *testing.T) {
		// The CA keeps the keys it read: a JWK certificate still issues,
		// and the OIDC login itself fails at the provider.
		op.Stop()
		u.ok(t, "ca", "certificate", "jwk.example.com", u.path("jwk.crt"), u.path("jwk.key"),
			"--provisioner", "admin", "--provisioner-password-file", u.path("password.txt"))
		r := u.fails(t, "ca", "certificate", oidctest.Email, u.path("down.crt"), u.path("down.key"), "--provisioner", "sso", "--console")
		if !strings.Contains(r.stderr, "error connecting to") {
			t.Fatalf("provider down:\n%s", r)
		}
	})
}
