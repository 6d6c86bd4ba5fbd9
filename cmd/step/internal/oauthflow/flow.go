// Package oauthflow runs the OAuth 2.0 authorization code flow with PKCE
// against an OpenID provider, as step does for `step oauth` and OIDC
// provisioners: a browser with a loopback redirect listener, or the console
// (the user opens the URL anywhere and pastes the code back).
package oauthflow

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"path"
	"runtime"
	"strings"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// OOBRedirect is the redirect URI of the console flow: the provider shows
// the code (or redirects to it) and the user pastes it.
const OOBRedirect = "urn:ietf:wg:oauth:2.0:oob"

// Options configure one flow.
type Options struct {
	// Provider is the provider's configuration endpoint (its discovery
	// document), or its issuer.
	Provider     string
	ClientID     string
	ClientSecret string
	// Scopes default to openid and email.
	Scopes []string
	// AuthParams are extra key=value parameters of the authorization URL.
	AuthParams []string
	// LoginHint, when set, is sent as login_hint.
	LoginHint string
	// Listen is the redirect listener's address; empty means an ephemeral
	// port on 127.0.0.1.
	Listen string
	// Console prints the URL and reads the code from In instead of
	// listening.
	Console bool
	// NoBrowser prints the URL without trying to open a browser.
	NoBrowser bool
	In        io.Reader
	Out       io.Writer // prompts and the URL
	// HTTPClient reads the discovery document and exchanges the code.
	HTTPClient *http.Client
	// Timeout bounds the wait for the user (default 5 minutes).
	Timeout time.Duration
}

// Result is the provider's token response.
type Result struct {
	IDToken      string
	AccessToken  string
	RefreshToken string
	TokenType    string
	ExpiresIn    int64
}

// discoveryURL returns the discovery document URL of a provider given by
// its configuration endpoint or issuer.
func discoveryURL(p string) (string, error) {
	u, err := url.Parse(p)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("invalid provider %q: it must be an http(s) URL", p)
	}
	if !strings.Contains(u.Path, "/.well-known/openid-configuration") {
		u.Path = path.Join(u.Path, "/.well-known/openid-configuration")
	}
	return u.String(), nil
}

func discover(ctx context.Context, hc *http.Client, provider string) (*gooidc.ProviderConfig, error) {
	uri, err := discoveryURL(provider)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, uri, nil)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("error connecting to %s: %w", uri, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("error reading %s: %s", uri, resp.Status)
	}
	var c gooidc.ProviderConfig
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&c); err != nil {
		return nil, fmt.Errorf("error reading %s: %w", uri, err)
	}
	if c.AuthURL == "" || c.TokenURL == "" {
		return nil, fmt.Errorf("error reading %s: no authorization_endpoint or token_endpoint", uri)
	}
	return &c, nil
}

func random() (string, error) {
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// Run runs the flow and returns the provider's tokens. The ID token's nonce
// is checked against the one sent.
func Run(ctx context.Context, o Options) (*Result, error) {
	hc := o.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	if o.Timeout == 0 {
		o.Timeout = 5 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	ctx = context.WithValue(ctx, oauth2.HTTPClient, hc)
	pc, err := discover(ctx, hc, o.Provider)
	if err != nil {
		return nil, err
	}
	scopes := o.Scopes
	if len(scopes) == 0 {
		scopes = []string{gooidc.ScopeOpenID, "email"}
	}
	conf := &oauth2.Config{ClientID: o.ClientID, ClientSecret: o.ClientSecret, Scopes: scopes,
		Endpoint: oauth2.Endpoint{AuthURL: pc.AuthURL, TokenURL: pc.TokenURL}}
	state, err := random()
	if err != nil {
		return nil, err
	}
	nonce, err := random()
	if err != nil {
		return nil, err
	}
	verifier := oauth2.GenerateVerifier()
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier), gooidc.Nonce(nonce)}
	if o.LoginHint != "" {
		opts = append(opts, oauth2.SetAuthURLParam("login_hint", o.LoginHint))
	}
	for _, kv := range o.AuthParams {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("invalid auth parameter %q: it must be key=value", kv)
		}
		opts = append(opts, oauth2.SetAuthURLParam(k, v))
	}

	var code string
	if o.Console {
		conf.RedirectURL = OOBRedirect
		authURL := conf.AuthCodeURL(state, opts...)
		fmt.Fprintf(o.Out, "Visit the following URL in a browser, sign in, and paste the code below:\n\n%s\n\n", authURL)
		if code, err = readCode(ctx, o.In, o.Out, state); err != nil {
			return nil, err
		}
	} else {
		if code, err = listenForCode(ctx, o, conf, state, opts); err != nil {
			return nil, err
		}
	}

	tok, err := conf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		return nil, fmt.Errorf("error exchanging the authorization code: %w", err)
	}
	r := &Result{AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, TokenType: tok.TokenType, ExpiresIn: tok.ExpiresIn}
	r.IDToken, _ = tok.Extra("id_token").(string)
	if r.IDToken == "" {
		return nil, errors.New("the provider returned no id_token: is the openid scope allowed?")
	}
	if got := unverifiedClaim(r.IDToken, "nonce"); got != nonce {
		return nil, errors.New("the id_token's nonce does not match the one sent")
	}
	return r, nil
}

// unverifiedClaim reads a string claim from a token's payload without
// verifying it (the CA verifies it).
func unverifiedClaim(tok, name string) string {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return ""
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return ""
	}
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		return ""
	}
	s, _ := m[name].(string)
	return s
}

// readCode reads the pasted code: the code itself, or the URL the provider
// redirected to (whose state must match).
func readCode(ctx context.Context, in io.Reader, out io.Writer, state string) (string, error) {
	fmt.Fprint(out, "Enter verification code: ")
	type line struct {
		s   string
		err error
	}
	ch := make(chan line, 1)
	go func() {
		s, err := bufio.NewReader(in).ReadString('\n')
		ch <- line{s, err}
	}()
	var l line
	select {
	case l = <-ch:
	case <-ctx.Done():
		return "", errors.New("timed out waiting for the verification code")
	}
	s := strings.TrimSpace(l.s)
	if s == "" {
		if l.err != nil {
			return "", fmt.Errorf("error reading the verification code: %w", l.err)
		}
		return "", errors.New("the verification code is empty")
	}
	if strings.Contains(s, "code=") {
		u, err := url.Parse(s)
		if err != nil {
			return "", fmt.Errorf("invalid verification code URL: %w", err)
		}
		q := u.Query()
		if q.Get("state") != state {
			return "", errors.New("the pasted URL's state does not match the request's")
		}
		return q.Get("code"), nil
	}
	return s, nil
}

// listenForCode serves the redirect URI on a loopback listener, opens (or
// prints) the authorization URL and waits for the provider's redirect.
func listenForCode(ctx context.Context, o Options, conf *oauth2.Config, state string, opts []oauth2.AuthCodeOption) (string, error) {
	addr := o.Listen
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("invalid listen address %q: %w", addr, err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("error listening on %s: %w", addr, err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	conf.RedirectURL = "http://" + net.JoinHostPort(host, port)
	authURL := conf.AuthCodeURL(state, opts...)

	type result struct {
		code string
		err  error
	}
	ch := make(chan result, 1)
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("code") == "" && q.Get("error") == "" {
			http.NotFound(w, r)
			return
		}
		var res result
		switch {
		case q.Get("state") != state:
			res.err = errors.New("the provider's redirect has an invalid state")
		case q.Get("error") != "":
			res.err = fmt.Errorf("the provider refused the authorization: %s %s", q.Get("error"), q.Get("error_description"))
		default:
			res.code = q.Get("code")
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if res.err != nil {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, "<html><body><p>%s</p></body></html>", html.EscapeString(res.err.Error()))
		} else {
			fmt.Fprint(w, "<html><body><p>Authentication complete. You may close this window.</p></body></html>")
		}
		select {
		case ch <- res:
		default:
		}
	})}
	go func() { _ = srv.Serve(ln) }()
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()

	if !o.NoBrowser && openBrowser(authURL) == nil {
		fmt.Fprintf(o.Out, "Your default web browser has been opened to visit:\n\n%s\n\n", authURL)
	} else {
		fmt.Fprintf(o.Out, "Visit the following URL in a browser to sign in:\n\n%s\n\n", authURL)
	}
	select {
	case res := <-ch:
		return res.code, res.err
	case <-ctx.Done():
		return "", errors.New("timed out waiting for the provider's redirect")
	}
}

// openBrowser opens u with the desktop's opener, when there is one.
func openBrowser(u string) error {
	var cmd *exec.Cmd
	switch runtime.GOOS {
	case "darwin":
		cmd = exec.Command("open", u)
	case "windows":
		cmd = exec.Command("rundll32", "url.dll,FileProtocolHandler", u)
	default:
		if _, err := exec.LookPath("xdg-open"); err != nil {
			return err
		}
		cmd = exec.Command("xdg-open", u)
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	go func() { _ = cmd.Wait() }()
	return nil
}
