package oidc_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/mayfly-pki/mayfly/authority"
	at "github.com/mayfly-pki/mayfly/authority/authoritytest"
	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/internal/oidctest"
	"github.com/mayfly-pki/mayfly/internal/timeutil"
	"github.com/mayfly-pki/mayfly/provisioner"
	"github.com/mayfly-pki/mayfly/provisioner/oidc"
	"github.com/mayfly-pki/mayfly/provisioner/provtest"
	"github.com/mayfly-pki/mayfly/provisioner/token"
)

const (
	clientID = "client-1.apps.example.com"
	email    = "Jane@Example.com"
)

// idp is an identity provider under the test's control: a discovery
// document and a key set on 127.0.0.1, with keys that can rotate and a
// switch that makes it answer 503.
type idp struct {
	issuer   string
	srv      *http.Server
	mu       sync.Mutex
	keys     []*jose.JSONWebKey // private; the set serves their public halves
	down     bool
	requests atomic.Int64 // key set requests
}

func newIDP(t testing.TB) *idp {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &idp{issuer: "http://" + ln.Addr().String()}
	p.keys = []*jose.JSONWebKey{newKey(t, "k1")}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		if p.isDown() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"issuer": p.issuer, "jwks_uri": p.issuer + "/keys"})
	})
	mux.HandleFunc("/keys", func(w http.ResponseWriter, r *http.Request) {
		p.requests.Add(1)
		if p.isDown() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		p.mu.Lock()
		var set jose.JSONWebKeySet
		for _, k := range p.keys {
			set.Keys = append(set.Keys, k.Public())
		}
		p.mu.Unlock()
		_ = json.NewEncoder(w).Encode(set)
	})
	p.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = p.srv.Serve(ln) }()
	t.Cleanup(func() { _ = p.srv.Close() })
	return p
}

func (p *idp) isDown() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.down
}

func (p *idp) setDown(d bool) {
	p.mu.Lock()
	p.down = d
	p.mu.Unlock()
}

// rotate adds a key and returns it.
func (p *idp) rotate(t testing.TB, kid string) *jose.JSONWebKey {
	k := newKey(t, kid)
	p.mu.Lock()
	p.keys = append(p.keys, k)
	p.mu.Unlock()
	return k
}

func (p *idp) key() *jose.JSONWebKey {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.keys[0]
}

func newKey(t testing.TB, kid string) *jose.JSONWebKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &jose.JSONWebKey{Key: k, KeyID: kid, Algorithm: string(jose.ES256), Use: "sig"}
}

// sign signs claims with key.
func sign(t testing.TB, key *jose.JSONWebKey, claims map[string]any) string {
	t.Helper()
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := s.Sign(b)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// idClaims are the claims of an ID token for the test user at now.
func (p *idp) idClaims(now time.Time) map[string]any {
	return map[string]any{
		"iss": p.issuer, "sub": "248289761001", "aud": clientID, "azp": clientID,
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
		"email": email, "email_verified": true, "nonce": "n-" + randomID(),
	}
}

func randomID() string {
	id, err := token.NewID()
	if err != nil {
		panic(err)
	}
	return id
}

var fastTuning = oidc.Tuning{Refresh: time.Hour, Retry: 50 * time.Millisecond, MinForced: 5 * time.Second, Wait: 2 * time.Second}

// entry is the ca.json entry of an OIDC provisioner "sso" for p.
func (p *idp) entry(t testing.TB, extra map[string]any) json.RawMessage {
	m := map[string]any{
		"type": "OIDC", "name": "sso", "clientID": clientID, "clientSecret": "s3cr3t",
		"configurationEndpoint": p.issuer,
	}
	for k, v := range extra {
		m[k] = v
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// env is an authority with the JWK admin and an OIDC provisioner "sso"
// whose background refresh runs until the test ends.
type env struct {
	*at.Env
	idp *idp
	p   *oidc.Provisioner
}

func newEnv(t *testing.T, p *idp, extra map[string]any, wait bool) *env {
	t.Helper()
	reg := provisioner.Registry{provisioner.TypeOIDC: func(raw json.RawMessage, cfg provisioner.Config) (provisioner.Interface, error) {
		return oidc.NewWithTuning(raw, cfg, fastTuning)
	}}
	e := at.New(t, at.Options{Store: at.OpenBadger(t), Registry: reg, MoreProvisioners: []json.RawMessage{p.entry(t, extra)}})
	ip, ok := e.Authority.Provisioners().ByName("sso")
	if !ok {
		t.Fatal("no provisioner sso")
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, r := range e.Authority.Runners() {
		wg.Go(func() { _ = r.Run(ctx) })
	}
	t.Cleanup(func() { cancel(); wg.Wait() })
	ev := &env{Env: e, idp: p, p: ip.(*oidc.Provisioner)}
	if wait {
		waitReady(t, ev.p)
	}
	return ev
}

func waitReady(t testing.TB, p *oidc.Provisioner) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !p.Ready() {
		if time.Now().After(deadline) {
			t.Fatal("the provider's keys were not read within 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (e *env) sign(ctx context.Context, csr *x509.CertificateRequest, ott string, notAfter time.Duration) (*x509.Certificate, error) {
	req := &authority.SignRequest{CSR: csr, OTT: ott}
	if notAfter != 0 {
		req.NotAfter = timeutil.NewDuration(notAfter)
	}
	iss, err := e.Authority.Sign(ctx, req)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(iss.DER)
}

// signClaims asks for a certificate with an ID token of claims.
func (e *env) signClaims(t testing.TB, key *jose.JSONWebKey, claims map[string]any) (*x509.Certificate, error) {
	t.Helper()
	return e.sign(context.Background(), at.NewCSR(t, at.CSR{CommonName: "248289761001"}), sign(t, key, claims), 0)
}

// The conformance harness's audience stands for the client ID; mint maps
// the suite's claims onto an ID token: its issuer and audience become the
// provider's and the client's when they are the harness's, and stay
// foreign otherwise.
const harnessAudience = at.CAURL + "/1.0/sign#oidc"

func (e *env) mint(key *jose.JSONWebKey) func(t testing.TB, c *token.Claims) string {
	return func(t testing.TB, c *token.Claims) string {
		m := map[string]any{"sub": c.Subject, "email": "conformance@example.com", "email_verified": true,
			"azp": clientID, "nonce": c.ID, "jti": c.ID}
		m["iss"] = c.Issuer
		if c.Issuer == "sso" {
			m["iss"] = e.idp.issuer
		}
		m["aud"] = []string(c.Audience)
		if len(c.Audience) == 1 && c.Audience[0] == harnessAudience {
			m["aud"] = clientID
		}
		for k, d := range map[string]*token.NumericDate{"exp": c.Expiry, "nbf": c.NotBefore, "iat": c.IssuedAt} {
			if d != nil {
				m[k] = int64(*d)
			}
		}
		return sign(t, key, m)
	}
}

// TestConformance runs the provisioner conformance suite on OIDC with tokens
// signed by the provider's key; the foreign credential is another key with
// the provider's kid.
func TestConformance(t *testing.T) {
	e := newEnv(t, newIDP(t), nil, true)
	foreign := newKey(t, e.idp.key().KeyID)
	provtest.Run(t, provtest.Harness{
		Name: "sso", Audience: harnessAudience, Now: e.Clock.Now, Backdate: time.Minute, Claims: e.p.Claims(),
		Mint: e.mint(e.idp.key()), MintForeign: e.mint(foreign), Sign: e.sign,
		NamesFromCredential: true,
		Issued: func(t testing.TB, cert *x509.Certificate, sub string) {
			if cert.Subject.CommonName != sub || !slices.Equal(cert.EmailAddresses, []string{"conformance@example.com"}) ||
				len(cert.URIs) != 1 || cert.URIs[0].String() != e.idp.issuer+"#"+sub || len(cert.DNSNames) != 0 {
				t.Fatalf("issued subject %v, emails %v, URIs %v, DNS %v", cert.Subject, cert.EmailAddresses, cert.URIs, cert.DNSNames)
			}
		},
	})
}

// TestIssuedIdentity checks the certificate step-ca's OIDC issues: CN = sub,
// SANs = email and <iss>#<sub>, the CSR's names ignored, and the provisioner
// extension with type OIDC and the client ID.
func TestIssuedIdentity(t *testing.T) {
	t.Parallel()
	e := newEnv(t, newIDP(t), nil, true)
	c := e.idp.idClaims(e.Clock.Now())
	csr := at.NewCSR(t, at.CSR{CommonName: "evil.example.com", DNSNames: []string{"evil.example.com"}})
	cert, err := e.sign(context.Background(), csr, sign(t, e.idp.key(), c), 0)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	if cert.Subject.CommonName != "248289761001" || !slices.Equal(cert.EmailAddresses, []string{email}) ||
		len(cert.DNSNames) != 0 || len(cert.URIs) != 1 || cert.URIs[0].String() != e.idp.issuer+"#248289761001" {
		t.Fatalf("subject %v, emails %v, DNS %v, URIs %v", cert.Subject, cert.EmailAddresses, cert.DNSNames, cert.URIs)
	}
	ext, ok := provisioner.FindExtension(cert)
	if !ok || ext.Type != provisioner.TypeOIDC || ext.Name != "sso" || ext.CredentialID != clientID {
		t.Fatalf("provisioner extension %+v, %v", ext, ok)
	}
}

// TestAdmins checks that an admin (by email, case-insensitive domain, or by
// group) gets the names of the request, and a non-admin does not.
func TestAdmins(t *testing.T) {
	t.Parallel()
	e := newEnv(t, newIDP(t), map[string]any{"admins": []string{"Jane@example.COM", "pki-admins"}}, true)
	csr := at.NewCSR(t, at.CSR{CommonName: "svc.example.com", DNSNames: []string{"svc.example.com"}})
	for _, tc := range []struct {
		name  string
		mod   func(map[string]any)
		admin bool
	}{
		{"by email", func(map[string]any) {}, true},
		{"by group", func(c map[string]any) { c["email"] = "bob@example.com"; c["groups"] = []string{"pki-admins"} }, true},
		{"not an admin", func(c map[string]any) { c["email"] = "bob@example.com" }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := e.idp.idClaims(e.Clock.Now())
			tc.mod(c)
			cert, err := e.sign(context.Background(), csr, sign(t, e.idp.key(), c), 0)
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			got := cert.Subject.CommonName == "svc.example.com" && slices.Equal(cert.DNSNames, []string{"svc.example.com"})
			if got != tc.admin {
				t.Fatalf("admin %v: subject %v, DNS %v, emails %v", tc.admin, cert.Subject, cert.DNSNames, cert.EmailAddresses)
			}
		})
	}
}

// TestRefusals checks step-ca's ID token checks, each refused as
// Unauthorized with its message.
func TestRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t, newIDP(t), map[string]any{"domains": []string{"example.com"}, "groups": []string{"staff", "ops"}}, true)
	now := e.Clock.Now()
	foreign := newKey(t, "k1")
	unknown := newKey(t, "never-published")
	tests := []struct {
		name string
		key  *jose.JSONWebKey
		mod  func(map[string]any)
		want string
	}{
		{"other issuer", nil, func(c map[string]any) { c["iss"] = "https://accounts.example.org" }, "invalid issuer"},
		{"other audience", nil, func(c map[string]any) { c["aud"] = "other-client" }, "invalid audience"},
		{"other azp", nil, func(c map[string]any) { c["aud"] = []string{clientID, "other"}; c["azp"] = "other" }, "invalid azp"},
		{"expired", nil, func(c map[string]any) {
			c["iat"], c["nbf"], c["exp"] = now.Add(-10*time.Minute).Unix(), now.Add(-10*time.Minute).Unix(), now.Add(-2*time.Minute).Unix()
		}, "token is expired"},
		{"not yet valid", nil, func(c map[string]any) { c["nbf"] = now.Add(3 * time.Minute).Unix() }, "not valid yet"},
		{"email not verified", nil, func(c map[string]any) { c["email_verified"] = false }, "is not verified"},
		{"no email", nil, func(c map[string]any) { delete(c, "email") }, "email not found"},
		{"other domain", nil, func(c map[string]any) { c["email"] = "jane@example.org" }, "is not allowed"},
		{"no group", nil, func(c map[string]any) { c["groups"] = []string{"guests"} }, "invalid group"},
		{"signed by another key", foreign, func(map[string]any) {}, "cannot validate oidc token"},
		{"unknown kid after refresh", unknown, func(map[string]any) {}, "unknown key ID"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := e.idp.idClaims(now)
			c["groups"] = []string{"ops"}
			tc.mod(c)
			key := tc.key
			if key == nil {
				key = e.idp.key()
			}
			_, err := e.signClaims(t, key, c)
			if !errs.Is(err, errs.Unauthorized) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Sign = %v, want Unauthorized %q", err, tc.want)
			}
		})
	}
	t.Run("accepted", func(t *testing.T) {
		c := e.idp.idClaims(now)
		c["groups"] = []string{"ops"}
		if _, err := e.signClaims(t, e.idp.key(), c); err != nil {
			t.Fatalf("Sign: %v", err)
		}
	})
}

// TestKeyRotation checks that a token signed by a key the provider published
// after the last refresh is accepted: its unknown kid asks for a refresh,
// which the request waits for. A second unknown kid within MinForced does
// not make the CA fetch the keys again.
func TestKeyRotation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, newIDP(t), nil, true)
	k2 := e.idp.rotate(t, "k2")
	before := e.idp.requests.Load()
	if _, err := e.signClaims(t, k2, e.idp.idClaims(e.Clock.Now())); err != nil {
		t.Fatalf("Sign with the new key: %v", err)
	}
	if n := e.idp.requests.Load() - before; n != 1 {
		t.Fatalf("%d key set requests for one rotation, want 1", n)
	}
	// Within MinForced, an unknown kid fails at once.
	start := time.Now()
	_, err := e.signClaims(t, newKey(t, "k3"), e.idp.idClaims(e.Clock.Now()))
	if !errs.Is(err, errs.Unauthorized) || !strings.Contains(err.Error(), "unknown key ID") {
		t.Fatalf("Sign = %v, want Unauthorized unknown key ID", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("a rate-limited unknown kid took %s", d)
	}
	if n := e.idp.requests.Load() - before; n != 1 {
		t.Fatalf("%d key set requests, want 1 (rate limited)", n)
	}
}

// TestProviderDown checks that when the provider cannot be read, OIDC
// requests fail at once as Unavailable with the reason while the JWK
// provisioner keeps issuing; that the keys are used again once it is back;
// and that keys older than MaxAge are refused.
func TestProviderDown(t *testing.T) {
	t.Parallel()
	p := newIDP(t)
	p.setDown(true)
	e := newEnv(t, p, nil, false)
	deadline := time.Now().Add(10 * time.Second)
	for {
		start := time.Now()
		_, err := e.signClaims(t, p.key(), p.idClaims(e.Clock.Now()))
		if d := time.Since(start); d > time.Second {
			t.Fatalf("a request with the provider down took %s", d)
		}
		if !errs.Is(err, errs.Unavailable) {
			t.Fatalf("Sign = %v, want Unavailable", err)
		}
		if strings.Contains(err.Error(), "is unavailable") && strings.Contains(err.Error(), "503") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Sign = %v, want the provider's error", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := e.sign(context.Background(), at.NewCSR(t, at.CSR{CommonName: "a.example.com"}), e.SignToken(t, "a.example.com"), 0); err != nil {
		t.Fatalf("JWK Sign with the OIDC provider down: %v", err)
	}
	p.setDown(false) // the refresher retries every 50ms..
	waitReady(t, e.p)
	if _, err := e.signClaims(t, p.key(), p.idClaims(e.Clock.Now())); err != nil {
		t.Fatalf("Sign once the provider is back: %v", err)
	}
	e.Clock.Add(25 * time.Hour)
	_, err := e.signClaims(t, p.key(), p.idClaims(e.Clock.Now()))
	if !errs.Is(err, errs.Unavailable) || !strings.Contains(err.Error(), "stale") {
		t.Fatalf("Sign with day-old keys = %v, want Unavailable stale", err)
	}
}

// TestFirstRead checks that a request arriving while the provider is read
// for the first time (the CA just started or reloaded) waits for it.
func TestFirstRead(t *testing.T) {
	t.Parallel()
	p := newIDP(t)
	e := newEnv(t, p, nil, false)
	if _, err := e.signClaims(t, p.key(), p.idClaims(e.Clock.Now())); err != nil {
		t.Fatalf("Sign at start: %v", err)
	}
}

// TestRouting checks wire-spec §4.8: an ID token reaches its provisioner by
// azp, or without azp by its first audience; a replayed token is refused.
func TestRouting(t *testing.T) {
	t.Parallel()
	e := newEnv(t, newIDP(t), nil, true)
	c := e.idp.idClaims(e.Clock.Now())
	delete(c, "azp")
	c["aud"] = []string{clientID, "another-audience"}
	ott := sign(t, e.idp.key(), c)
	if _, err := e.sign(context.Background(), at.NewCSR(t, at.CSR{CommonName: "x"}), ott, 0); err != nil {
		t.Fatalf("Sign without azp: %v", err)
	}
	_, err := e.sign(context.Background(), at.NewCSR(t, at.CSR{CommonName: "x"}), ott, 0)
	if !errs.Is(err, errs.Unauthorized) || !strings.Contains(err.Error(), "token already used") {
		t.Fatalf("replay = %v, want token already used", err)
	}
}

// TestConfig checks the ca.json checks of New and the fields served back.
func TestConfig(t *testing.T) {
	t.Parallel()
	cfg := provisioner.Config{Claims: provisioner.DefaultClaims}
	for _, tc := range []struct{ raw, want string }{
		{`{"type":"OIDC","clientID":"c","configurationEndpoint":"https://x"}`, "name cannot be empty"},
		{`{"type":"OIDC","name":"n","configurationEndpoint":"https://x"}`, "clientID cannot be empty"},
		{`{"type":"OIDC","name":"n","clientID":"c"}`, "configurationEndpoint cannot be empty"},
		{`{"type":"OIDC","name":"n","clientID":"c","configurationEndpoint":"https://x","listenAddress":"10000"}`, "listenAddress"},
		{`{"type":"OIDC","name":"n","clientID":"c","configurationEndpoint":"ftp://x"}`, "scheme"},
	} {
		if _, err := oidc.New(json.RawMessage(tc.raw), cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%s) = %v, want %q", tc.raw, err, tc.want)
		}
	}
	raw := `{"type":"OIDC","name":"Google","clientID":"c.apps","clientSecret":"s","configurationEndpoint":"https://accounts.example.com/.well-known/openid-configuration","admins":["a@x"],"domains":["x"],"groups":["g"],"tenantID":"t","listenAddress":":10000","scopes":["openid","email"],"authParams":["prompt=login"]}`
	p, err := oidc.New(json.RawMessage(raw), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if p.TokenID() != "c.apps" || p.Info().CredentialID != "c.apps" || p.Info().ID != "c.apps" || string(p.JSON()) != raw {
		t.Fatalf("TokenID %q, Info %+v, JSON %s", p.TokenID(), p.Info(), p.JSON())
	}
}

// TestTenantID checks the Azure-style issuer: {tenantid} in the discovery
// document's issuer is replaced by tenantID.
func TestTenantID(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	key := newKey(t, "k1")
	mux := http.NewServeMux()
	mux.HandleFunc("/common/v2.0/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{"issuer": base + "/{tenantid}/v2.0", "jwks_uri": base + "/keys"})
	})
	mux.HandleFunc("/keys", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{key.Public()}})
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	p := &idp{issuer: base + "/common/v2.0"}
	e := newEnv(t, p, map[string]any{"tenantID": "9188040d"}, true)
	c := p.idClaims(e.Clock.Now())
	c["iss"] = base + "/9188040d/v2.0"
	if _, err := e.signClaims(t, key, c); err != nil {
		t.Fatalf("Sign: %v", err)
	}
	c = p.idClaims(e.Clock.Now())
	c["iss"] = base + "/{tenantid}/v2.0"
	if _, err := e.signClaims(t, key, c); !errs.Is(err, errs.Unauthorized) {
		t.Fatalf("Sign with the template issuer = %v, want Unauthorized", err)
	}
}

// TestZitadelIDToken checks an ID token a real OpenID provider (zitadel's
// op) issued through its login form with the authorization code flow and
// PKCE: the provisioner, reading the provider's discovery document and keys,
// authorizes it for the user's identity.
func TestZitadelIDToken(t *testing.T) {
	t.Parallel()
	op := oidctest.Start(t)
	raw, _ := json.Marshal(map[string]any{"type": "OIDC", "name": "zitadel", "clientID": oidctest.ClientID,
		"configurationEndpoint": op.ConfigurationEndpoint(), "domains": []string{"zitadel.ch"}})
	p, err := oidc.NewWithTuning(raw, provisioner.Config{Claims: provisioner.DefaultClaims}, fastTuning)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { _ = p.Run(runCtx); close(done) }()
	defer func() { stop(); <-done }()
	waitReady(t, p)
	idt, err := op.IDToken(ctx, "nonce-1")
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	tok, err := token.Parse(idt)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := p.AuthorizeSign(ctx, tok)
	if err != nil {
		t.Fatalf("AuthorizeSign: %v", err)
	}
	if plan.Subject != oidctest.Subject || !slices.Equal(plan.SANs, []string{oidctest.Email, op.Issuer + "#" + oidctest.Subject}) {
		t.Fatalf("plan subject %q, SANs %v", plan.Subject, plan.SANs)
	}
}

// TestRenewAndTemplate checks that a certificate an OIDC provisioner issued
// renews with it (its extension names the client ID), not when renewal is
// disabled, and that options.x509 templates see the ID token's claims.
func TestRenewAndTemplate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := newIDP(t)
	e := newEnv(t, p, map[string]any{"options": map[string]any{"x509": map[string]any{
		"template": `{"subject": {"commonName": {{ toJson .Token.email }}}, "sans": {{ toJson .SANs }}}`,
	}}}, true)
	cert, err := e.signClaims(t, p.key(), p.idClaims(e.Clock.Now()))
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	if cert.Subject.CommonName != email {
		t.Fatalf("templated subject %v", cert.Subject)
	}
	if r, err := e.Authority.Renew(ctx, cert); err != nil || r.Provisioner.Name != "sso" {
		t.Fatalf("Renew = %+v, %v", r, err)
	}

	e2 := newEnv(t, p, map[string]any{"claims": map[string]any{"disableRenewal": true}}, true)
	cert, err = e2.signClaims(t, p.key(), p.idClaims(e2.Clock.Now()))
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	if _, err := e2.Authority.Renew(ctx, cert); !errs.Is(err, errs.Unauthorized) {
		t.Fatalf("Renew with disableRenewal = %v, want Unauthorized", err)
	}
}

// TestAuthorizeRevoke checks that only admins' ID tokens may revoke.
func TestAuthorizeRevoke(t *testing.T) {
	t.Parallel()
	e := newEnv(t, newIDP(t), map[string]any{"admins": []string{email}}, true)
	ctx := context.Background()
	for _, tc := range []struct {
		email string
		ok    bool
	}{{email, true}, {"bob@example.com", false}} {
		c := e.idp.idClaims(e.Clock.Now())
		c["email"] = tc.email
		tok, err := token.Parse(sign(t, e.idp.key(), c))
		if err != nil {
			t.Fatal(err)
		}
		err = e.p.AuthorizeRevoke(ctx, tok)
		if (err == nil) != tc.ok || (err != nil && !strings.Contains(err.Error(), "cannot revoke with non-admin oidc token")) {
			t.Fatalf("AuthorizeRevoke(%s) = %v", tc.email, err)
		}
	}
}

// TestRevoke checks that an admin's ID token revokes any certificate (its
// sub is the user, not the serial) and a non-admin's revokes none.
func TestRevoke(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, newIDP(t), map[string]any{"admins": []string{"admin@example.com"}}, true)
	cert, _ := e.Issue(t, "victim.example.com", 0)
	serial := cert.SerialNumber.String()
	c := e.idp.idClaims(e.Clock.Now())
	_, err := e.Authority.Revoke(ctx, &authority.RevokeRequest{Serial: serial, OTT: sign(t, e.idp.key(), c)})
	if !errs.Is(err, errs.Unauthorized) || !strings.Contains(err.Error(), "non-admin") {
		t.Fatalf("Revoke by a non-admin = %v, want Unauthorized non-admin", err)
	}
	c = e.idp.idClaims(e.Clock.Now())
	c["email"] = "admin@example.com"
	r, err := e.Authority.Revoke(ctx, &authority.RevokeRequest{Serial: serial, OTT: sign(t, e.idp.key(), c)})
	if err != nil || r.Provisioner.Name != "sso" {
		t.Fatalf("Revoke by an admin = %+v, %v", r, err)
	}
	if _, err := e.Authority.Renew(ctx, cert); err == nil {
		t.Fatal("a revoked certificate renewed")
	}
}
