package acme_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	jose "github.com/go-jose/go-jose/v4"

	acmeapi "github.com/mayfly-pki/mayfly/api/acme"
	"github.com/mayfly-pki/mayfly/authority"
	"github.com/mayfly-pki/mayfly/authority/acme"
	"github.com/mayfly-pki/mayfly/authority/acme/validate"
	at "github.com/mayfly-pki/mayfly/authority/authoritytest"
	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/policy"
	"github.com/mayfly-pki/mayfly/provisioner"
	acmeprov "github.com/mayfly-pki/mayfly/provisioner/acme"
)

// testCA is the ACME API over an authoritytest environment (Badger store),
// with the real validators pointed at a challenge server on 127.0.0.1.
type testCA struct {
	env  *at.Env
	svc  *acme.Service
	srv  *httptest.Server
	host string
	// tokens is what the http-01 server answers: token → key authorization.
	mu     sync.Mutex
	tokens map[string]string
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	return newTestCAMode(t, true)
}

// newTestCAMode is newTestCA with the service told whether it is the
// store's only writer (false: it behaves as on a shared SQL database,
// claiming orders in the store).
func newTestCAMode(t *testing.T, singleWriter bool) *testCA {
	t.Helper()
	c := &testCA{tokens: map[string]string{}}
	challenge := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok := strings.TrimPrefix(r.URL.Path, "/.well-known/acme-challenge/")
		c.mu.Lock()
		ka, ok := c.tokens[tok]
		c.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		io.WriteString(w, ka)
	}))
	t.Cleanup(challenge.Close)
	_, port, _ := net.SplitHostPort(challenge.Listener.Addr().String())
	p, _ := strconv.Atoi(port)
	c.env = at.New(t, at.Options{
		Store:    at.OpenBadger(t),
		Registry: provisioner.Registry{provisioner.TypeACME: acmeprov.New},
		MoreProvisioners: []json.RawMessage{
			json.RawMessage(`{"type":"ACME","name":"acme"}`),
			json.RawMessage(`{"type":"ACME","name":"eab","requireEAB":true,"termsOfService":"https://tos.example"}`),
			json.RawMessage(`{"type":"ACME","name":"dnsonly","challenges":["dns-01"]}`),
		},
		X509Policy: &policy.X509Options{Deny: &policy.Names{DNSDomains: []string{"*.denied.test"}}, AllowWildcardNames: true},
	})
	svc := acme.New(acme.Deps{
		Store: c.env.Store.(store.ACMEStore), Validator: validate.New(validate.Options{HTTPPort: p}), Now: c.env.Clock.Now,
		SingleWriter: singleWriter, // Badger: accounts cached, orders claimed in memory
		RetryDelays:  []time.Duration{500 * time.Millisecond, 2 * time.Second, 5 * time.Second},
	})
	t.Cleanup(svc.Close) // its retries stop before the store closes
	c.svc = svc
	r := chi.NewRouter()
	acmeapi.New(acmeapi.Deps{Authority: func() *authority.Authority { return c.env.Authority }, Service: svc}).Mount(r)
	c.srv = httptest.NewTLSServer(r)
	t.Cleanup(c.srv.Close)
	c.host = c.srv.Listener.Addr().String()
	return c
}

// client is one ACME account key talking to testCA.
type client struct {
	t    *testing.T
	ca   *testCA
	key  crypto.Signer
	kid  string
	prov string
}

func (c *testCA) client(t *testing.T, prov string) *client {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &client{t: t, ca: c, key: key, prov: prov}
}

func (cl *client) url(path string) string {
	return "https://" + cl.ca.host + "/acme/" + cl.prov + "/" + path
}

func (cl *client) nonce() string {
	resp, err := cl.ca.srv.Client().Head(cl.url("new-nonce"))
	if err != nil {
		cl.t.Fatal(err)
	}
	resp.Body.Close()
	n := resp.Header.Get("Replay-Nonce")
	if n == "" {
		cl.t.Fatal("new-nonce gave no Replay-Nonce")
	}
	return n
}

// sign returns a flattened JWS of payload for url.
func (cl *client) sign(url string, payload []byte, nonce string, withJWK bool, key crypto.Signer) []byte {
	cl.t.Helper()
	if key == nil {
		key = cl.key
	}
	opts := &jose.SignerOptions{ExtraHeaders: map[jose.HeaderKey]any{"url": url}}
	if nonce != "" {
		opts.ExtraHeaders["nonce"] = nonce
	}
	if withJWK || cl.kid == "" {
		opts.EmbedJWK = true
	} else {
		opts.ExtraHeaders["kid"] = cl.kid
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key}, opts)
	if err != nil {
		cl.t.Fatal(err)
	}
	jws, err := s.Sign(payload)
	if err != nil {
		cl.t.Fatal(err)
	}
	out := []byte(jws.FullSerialize())
	if len(payload) == 0 {
		// POST-as-GET: go-jose leaves out an empty payload; RFC 8555 §6.3
		// sends "payload": "".
		var m map[string]any
		if err := json.Unmarshal(out, &m); err != nil {
			cl.t.Fatal(err)
		}
		m["payload"] = ""
		out, _ = json.Marshal(m)
	}
	return out
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) problem() string {
	var p struct {
		Type string `json:"type"`
	}
	_ = json.Unmarshal(r.body, &p)
	return strings.TrimPrefix(p.Type, acme.ProblemPrefix)
}

func (r response) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

func (cl *client) postRaw(url string, body []byte) response {
	cl.t.Helper()
	resp, err := cl.ca.srv.Client().Post(url, "application/jose+json", bytes.NewReader(body))
	if err != nil {
		cl.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// post signs payload (nil: POST-as-GET) for path and sends it.
func (cl *client) post(path string, payload any) response {
	cl.t.Helper()
	var b []byte
	if payload != nil {
		var err error
		if b, err = json.Marshal(payload); err != nil {
			cl.t.Fatal(err)
		}
	}
	u := path
	if !strings.HasPrefix(u, "https://") {
		u = cl.url(path)
	}
	return cl.postRaw(u, cl.sign(u, b, cl.nonce(), false, nil))
}

func (cl *client) register() {
	cl.t.Helper()
	r := cl.post("new-account", map[string]any{"termsOfServiceAgreed": true, "contact": []string{"mailto:a@example.com"}})
	if r.status != http.StatusCreated {
		cl.t.Fatalf("new-account: %d %s", r.status, r.body)
	}
	cl.kid = r.header.Get("Location")
}

type orderJSON struct {
	Status         string   `json:"status"`
	Authorizations []string `json:"authorizations"`
	Finalize       string   `json:"finalize"`
	Certificate    string   `json:"certificate"`
}

// newOrder creates an order for the IP 127.0.0.1 (http-01 on the test's
// challenge server) and returns it and its URL.
func (cl *client) newOrder(ids ...acme.Identifier) (orderJSON, string) {
	cl.t.Helper()
	if len(ids) == 0 {
		ids = []acme.Identifier{{Type: "ip", Value: "127.0.0.1"}}
	}
	r := cl.post("new-order", map[string]any{"identifiers": ids})
	if r.status != http.StatusCreated {
		cl.t.Fatalf("new-order: %d %s", r.status, r.body)
	}
	var o orderJSON
	r.decode(cl.t, &o)
	return o, r.header.Get("Location")
}

// solve answers the http-01 challenge of every authorization of o.
func (cl *client) solve(o orderJSON) {
	cl.t.Helper()
	for _, az := range o.Authorizations {
		var a struct {
			Challenges []struct{ Type, URL, Token, Status string }
		}
		cl.post(az, nil).decode(cl.t, &a)
		for _, ch := range a.Challenges {
			if ch.Type != "http-01" {
				continue
			}
			ka, err := acme.KeyAuthorization(ch.Token, &jose.JSONWebKey{Key: cl.key.Public()})
			if err != nil {
				cl.t.Fatal(err)
			}
			cl.ca.mu.Lock()
			cl.ca.tokens[ch.Token] = ka
			cl.ca.mu.Unlock()
			r := cl.post(ch.URL, map[string]any{})
			var got struct{ Status string }
			r.decode(cl.t, &got)
			if got.Status != "valid" {
				cl.t.Fatalf("challenge: %d %s", r.status, r.body)
			}
		}
	}
}

func csrFor(t *testing.T, cn string, dns []string, ips ...net.IP) (string, crypto.Signer) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: cn}, DNSNames: dns, IPAddresses: ips,
	}, key)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(der), key
}
