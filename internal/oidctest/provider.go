// Package oidctest runs a real OpenID provider on the loopback interface for
// tests: zitadel's op package with its example storage and login form, one
// test user and one native client (PKCE, loopback redirects on any port),
// and drives its login form headlessly.
package oidctest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/oauth2"
)

// The provider's client and test user.
const (
	ClientID = "mayfly-step"
	// ClientSecret is sent by clients that have one; the native client
	// authenticates with PKCE and ignores it.
	ClientSecret = "not-a-secret"
	Password     = "verysecure"
	// Email is the test user's verified email (zitadel's example user).
	Email = "test-user@zitadel.ch"
	// Subject is the test user's sub.
	Subject = "id1"
)

// Provider is a running OpenID provider.
type Provider struct {
	// Issuer is the provider's issuer, http://127.0.0.1:<port>; its
	// discovery document is Issuer + "/.well-known/openid-configuration".
	Issuer string
	// Username is the test user's login name.
	Username string
	srv      *http.Server
	ln       net.Listener
}

// userinfoClient puts the userinfo claims (email, email_verified) into ID
// tokens, as providers such as Google do.
type userinfoClient struct{ op.Client }

func (userinfoClient) IDTokenUserinfoClaimsAssertion() bool { return true }

// clientStorage is the example storage with userinfoClient clients.
type clientStorage struct{ *storage.Storage }

func (s clientStorage) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	c, err := s.Storage.GetClientByClientID(ctx, id)
	if err != nil {
		return nil, err
	}
	return userinfoClient{c}, nil
}

// Start serves a provider on 127.0.0.1 until the test ends.
func Start(t testing.TB) *Provider {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	issuer := "http://" + ln.Addr().String()
	clients := map[string]*storage.Client{
		ClientID: storage.NativeClient(ClientID, "http://127.0.0.1", "http://127.0.0.1/", "http://localhost", "urn:ietf:wg:oauth:2.0:oob"),
	}
	st := clientStorage{storage.NewStorageWithClients(storage.NewUserStore(issuer), clients)}
	router := exampleop.SetupServer(issuer, st, nil, false, op.WithAllowInsecure())
	p := &Provider{Issuer: issuer, Username: "test-user@127.0.0.1", ln: ln,
		srv: &http.Server{Handler: router, ReadHeaderTimeout: 10 * time.Second}}
	go func() { _ = p.srv.Serve(ln) }()
	t.Cleanup(p.Stop)
	return p
}

// Stop stops the provider: its endpoints refuse connections from now on.
func (p *Provider) Stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = p.srv.Shutdown(ctx)
}

// ConfigurationEndpoint is the provider's discovery document URL.
func (p *Provider) ConfigurationEndpoint() string {
	return p.Issuer + "/.well-known/openid-configuration"
}

// Login opens authURL (an authorization request) as a browser would, signs
// the test user in with the login form and follows the redirects. With
// follow false it stops at the redirect to the client (the redirect_uri
// with code and state) and returns that URL; with follow true it requests
// that URL too (a client's loopback listener) and returns it.
func (p *Provider) Login(ctx context.Context, authURL string, follow bool) (*url.URL, error) {
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, err
	}
	provider, err := url.Parse(p.Issuer)
	if err != nil {
		return nil, err
	}
	var final *url.URL
	client := &http.Client{Jar: jar, Timeout: 20 * time.Second,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > 10 {
				return errors.New("too many redirects")
			}
			if req.URL.Host != provider.Host {
				final = req.URL
				if !follow {
					return http.ErrUseLastResponse
				}
			}
			return nil
		}}
	get := func(u string) (*http.Response, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, err
		}
		return client.Do(req)
	}
	resp, err := get(authURL)
	if err != nil {
		return nil, fmt.Errorf("authorization request: %w", err)
	}
	resp.Body.Close()
	id := resp.Request.URL.Query().Get("authRequestID")
	if id == "" {
		return nil, fmt.Errorf("authorization request: no login form (status %s at %s)", resp.Status, resp.Request.URL)
	}
	form := url.Values{"username": {p.Username}, "password": {Password}, "id": {id}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.Issuer+"/login/username", strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err = client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("login: %w", err)
	}
	resp.Body.Close()
	if final == nil {
		return nil, fmt.Errorf("login: not redirected to the client (status %s at %s)", resp.Status, resp.Request.URL)
	}
	if follow && resp.StatusCode != http.StatusOK {
		return final, fmt.Errorf("the client's redirect_uri answered %s", resp.Status)
	}
	return final, nil
}

// IDToken signs the test user in for the client with the authorization
// code flow and PKCE, as step does, and returns the ID token.
func (p *Provider) IDToken(ctx context.Context, nonce string) (string, error) {
	prov, err := gooidc.NewProvider(ctx, p.Issuer)
	if err != nil {
		return "", err
	}
	conf := oauth2.Config{ClientID: ClientID, Endpoint: prov.Endpoint(), RedirectURL: "http://127.0.0.1:9/",
		Scopes: []string{gooidc.ScopeOpenID, "email", "profile"}}
	verifier := oauth2.GenerateVerifier()
	authURL := conf.AuthCodeURL("state-1", oauth2.S256ChallengeOption(verifier), gooidc.Nonce(nonce))
	back, err := p.Login(ctx, authURL, false)
	if err != nil {
		return "", err
	}
	if s := back.Query().Get("state"); s != "state-1" {
		return "", fmt.Errorf("state %q returned, want state-1", s)
	}
	tok, err := conf.Exchange(ctx, back.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		return "", err
	}
	idt, _ := tok.Extra("id_token").(string)
	if idt == "" {
		return "", errors.New("no id_token in the token response")
	}
	return idt, nil
}
