package oauthflow

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mayfly-pki/mayfly/internal/oidctest"
)

func TestDiscoveryURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://accounts.example.com":                               "https://accounts.example.com/.well-known/openid-configuration",
		"https://login.example.com/tenant/v2.0/":                     "https://login.example.com/tenant/v2.0/.well-known/openid-configuration",
		"https://x.example.com/.well-known/openid-configuration?a=b": "https://x.example.com/.well-known/openid-configuration?a=b",
	} {
		if got, err := discoveryURL(in); err != nil || got != want {
			t.Errorf("discoveryURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"accounts.example.com", "ftp://x", "http://"} {
		if _, err := discoveryURL(bad); err == nil {
			t.Errorf("discoveryURL(%q) accepted", bad)
		}
	}
}

func TestReadCode(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct{ in, want, err string }{
		{"abc123\n", "abc123", ""},
		{"  abc123  \r\n", "abc123", ""},
		{"urn:ietf:wg:oauth:2.0:oob?code=c1&state=s1\n", "c1", ""},
		{"http://127.0.0.1:1/?code=c1&state=other\n", "", "state does not match"},
		{"\n", "", "empty"},
		{"", "", "error reading"},
	} {
		got, err := readCode(ctx, strings.NewReader(tc.in), io.Discard, "s1")
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("readCode(%q) = %q, %v; want error %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("readCode(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	// A terminal that never answers: the flow's deadline ends the wait.
	ctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	r, w := io.Pipe()
	defer w.Close()
	if _, err := readCode(ctx, r, io.Discard, "s1"); err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("readCode without input = %v, want timed out", err)
	}
}

// lines sends the URLs written to it.
type lines struct {
	ch chan string
}

func (l lines) Write(b []byte) (int, error) {
	for _, s := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(s, "http") {
			l.ch <- s
		}
	}
	return len(b), nil
}

// TestRunLoopback runs the browser flow against a real provider: the
// redirect listener gets the code, the state and PKCE verifier hold, and
// the ID token's nonce is the one sent. A redirect with another state is
// refused.
func TestRunLoopback(t *testing.T) {
	op := oidctest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out := lines{ch: make(chan string, 2)}
	type res struct {
		r   *Result
		err error
	}
	done := make(chan res, 1)
	go func() {
		r, err := Run(ctx, Options{Provider: op.Issuer, ClientID: oidctest.ClientID, NoBrowser: true, Out: out, In: &bytes.Buffer{}})
		done <- res{r, err}
	}()
	var authURL string
	select {
	case authURL = <-out.ch:
	case r := <-done:
		t.Fatalf("Run ended before printing the URL: %v", r.err)
	}
	// A forged redirect with another state is answered 400 and ends the flow.
	u, _ := url.Parse(authURL)
	redirect := u.Query().Get("redirect_uri")
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, redirect+"/?code=x&state=forged", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("forged redirect answered %s", resp.Status)
	}
	if r := <-done; r.err == nil || !strings.Contains(r.err.Error(), "invalid state") {
		t.Fatalf("Run after a forged redirect = %v, want invalid state", r.err)
	}

	go func() {
		r, err := Run(ctx, Options{Provider: op.ConfigurationEndpoint(), ClientID: oidctest.ClientID, NoBrowser: true, Out: out, In: &bytes.Buffer{},
			Scopes: []string{"openid", "email", "profile"}})
		done <- res{r, err}
	}()
	authURL = <-out.ch
	if _, err := op.Login(ctx, authURL, true); err != nil {
		t.Fatalf("login: %v", err)
	}
	r := <-done
	if r.err != nil {
		t.Fatalf("Run: %v", r.err)
	}
	if unverifiedClaim(r.r.IDToken, "email") != oidctest.Email || r.r.AccessToken == "" {
		t.Fatalf("result %+v", r.r)
	}
}
