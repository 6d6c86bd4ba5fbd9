package acme_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/mayfly-pki/mayfly/authority/acme"
)

// TestFlow: account, order, http-01 (the real validator), finalize,
// download, orders list, then revocation by the certificate's key.
func TestFlow(t *testing.T) {
	t.Parallel()
	ca := newTestCA(t)
	cl := ca.client(t, "acme")
	cl.register()
	o, loc := cl.newOrder()
	if o.Status != "pending" || len(o.Authorizations) != 1 {
		t.Fatalf("new order %+v", o)
	}
	cl.solve(o)
	var got orderJSON
	cl.post(loc, nil).decode(t, &got)
	if got.Status != "ready" {
		t.Fatalf("order after the challenge: %+v", got)
	}
	csr, _ := csrFor(t, "", nil, net.ParseIP("127.0.0.1"))
	r := cl.post(o.Finalize, map[string]string{"csr": csr})
	r.decode(t, &got)
	if r.status != 200 || got.Status != "valid" || got.Certificate == "" {
		t.Fatalf("finalize: %d %s", r.status, r.body)
	}
	r = cl.post(got.Certificate, nil)
	if r.status != 200 || r.header.Get("Content-Type") != "application/pem-certificate-chain" || strings.Count(string(r.body), "BEGIN CERTIFICATE") != 2 {
		t.Fatalf("certificate: %d %s %s", r.status, r.header.Get("Content-Type"), r.body)
	}
	// The account's orders list holds its unfinished orders (as step-ca):
	// the valid one is gone, a new pending one is listed.
	var list struct{ Orders []string }
	cl.post(cl.kid+"/orders", nil).decode(t, &list)
	if len(list.Orders) != 0 {
		t.Fatalf("orders list after finalize %v, want []", list.Orders)
	}
	_, loc2 := cl.newOrder()
	cl.post(cl.kid+"/orders", nil).decode(t, &list)
	if len(list.Orders) != 1 || list.Orders[0] != loc2 {
		t.Fatalf("orders list %v, want [%s]", list.Orders, loc2)
	}
}

// TestProblems is the RFC 8555 conformance table: each case provokes one
// problem type and checks the type, the HTTP status and, for badNonce, the
// fresh Replay-Nonce.
func TestProblems(t *testing.T) {
	t.Parallel()
	ca := newTestCA(t)
	owner := ca.client(t, "acme")
	owner.register()
	// A ready order, and one with a valid certificate, for the cases below.
	ready, _ := owner.newOrder()
	owner.solve(ready)
	done, doneURL := owner.newOrder()
	owner.solve(done)
	csr, _ := csrFor(t, "", nil, net.ParseIP("127.0.0.1"))
	if r := owner.post(done.Finalize, map[string]string{"csr": csr}); r.status != 200 {
		t.Fatalf("finalize: %d %s", r.status, r.body)
	}
	var doneOrder orderJSON
	owner.post(doneURL, nil).decode(t, &doneOrder)
	certPEM := owner.post(doneOrder.Certificate, nil).body
	certDER := pemDER(t, certPEM)
	certB64 := base64.RawURLEncoding.EncodeToString(certDER)

	type tc struct {
		name   string
		do     func(t *testing.T) response
		typ    string
		status int
	}
	cases := []tc{
		{"badNonce reused", func(t *testing.T) response {
			cl := ca.client(t, "acme")
			n := cl.nonce()
			body := cl.sign(cl.url("new-account"), []byte(`{"termsOfServiceAgreed":true}`), n, true, nil)
			cl.postRaw(cl.url("new-account"), body)
			return cl.postRaw(cl.url("new-account"), cl.sign(cl.url("new-account"), []byte(`{}`), n, true, nil))
		}, "badNonce", 400},
		{"badNonce missing", func(t *testing.T) response {
			cl := ca.client(t, "acme")
			return cl.postRaw(cl.url("new-account"), cl.sign(cl.url("new-account"), []byte(`{}`), "", true, nil))
		}, "badNonce", 400},
		{"malformed body", func(t *testing.T) response {
			return owner.postRaw(owner.url("new-order"), []byte("not a jws"))
		}, "malformed", 400},
		{"malformed jwk and kid", func(t *testing.T) response {
			u := owner.url("new-order")
			return owner.postRaw(u, owner.sign(u, []byte(`{}`), owner.nonce(), true, nil)) // jwk on a kid route
		}, "malformed", 400},
		{"badSignatureAlgorithm HS256", func(t *testing.T) response {
			u := owner.url("new-account")
			s, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: []byte("0123456789abcdef0123456789abcdef")},
				&jose.SignerOptions{ExtraHeaders: map[jose.HeaderKey]any{"url": u, "nonce": owner.nonce()}})
			jws, _ := s.Sign([]byte(`{}`))
			return owner.postRaw(u, []byte(jws.FullSerialize()))
		}, "badSignatureAlgorithm", 400},
		{"unauthorized url mismatch", func(t *testing.T) response {
			return owner.postRaw(owner.url("new-order"), owner.sign(owner.url("new-account"), []byte(`{}`), owner.nonce(), false, nil))
		}, "unauthorized", 401},
		{"unauthorized not an ACME provisioner", func(t *testing.T) response {
			cl := ca.client(t, "admin")
			resp, err := ca.srv.Client().Get(cl.url("directory"))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			return readResponse(resp)
		}, "unauthorized", 401},
		{"accountDoesNotExist onlyReturnExisting", func(t *testing.T) response {
			return ca.client(t, "acme").post("new-account", map[string]any{"onlyReturnExisting": true})
		}, "accountDoesNotExist", 400},
		{"accountDoesNotExist kid", func(t *testing.T) response {
			cl := ca.client(t, "acme")
			cl.kid = cl.url("account/nope")
			return cl.post("new-order", map[string]any{"identifiers": []acme.Identifier{{Type: "dns", Value: "a.test"}}})
		}, "accountDoesNotExist", 400},
		{"externalAccountRequired", func(t *testing.T) response {
			return ca.client(t, "eab").post("new-account", map[string]any{"termsOfServiceAgreed": true})
		}, "externalAccountRequired", 401},
		{"unsupportedContact", func(t *testing.T) response {
			return ca.client(t, "acme").post("new-account", map[string]any{"contact": []string{"tel:+1555"}})
		}, "unsupportedContact", 400},
		{"invalidContact", func(t *testing.T) response {
			return ca.client(t, "acme").post("new-account", map[string]any{"contact": []string{"mailto:not an address"}})
		}, "invalidContact", 400},
		{"rejectedIdentifier policy", func(t *testing.T) response {
			return owner.post("new-order", map[string]any{"identifiers": []acme.Identifier{{Type: "dns", Value: "x.denied.test"}}})
		}, "rejectedIdentifier", 400},
		{"rejectedIdentifier subproblems", func(t *testing.T) response {
			r := owner.post("new-order", map[string]any{"identifiers": []acme.Identifier{
				{Type: "dns", Value: "ok.test"}, {Type: "dns", Value: "bad..name"}, {Type: "email", Value: "a@b.c"}}})
			var p struct {
				Subproblems []acme.Subproblem `json:"subproblems"`
			}
			r.decode(t, &p)
			if len(p.Subproblems) != 2 || p.Subproblems[0].Identifier.Value != "bad..name" ||
				p.Subproblems[1].Type != acme.ProblemPrefix+"unsupportedIdentifier" {
				t.Errorf("subproblems %+v", p.Subproblems)
			}
			return r
		}, "rejectedIdentifier", 400},
		{"rejectedIdentifier wildcard without dns-01", func(t *testing.T) response {
			return owner.post("new-order", map[string]any{"identifiers": []acme.Identifier{{Type: "ip", Value: "10.0.0.1"}}})
		}, "", 201},
		{"orderNotReady", func(t *testing.T) response {
			o, _ := owner.newOrder()
			return owner.post(o.Finalize, map[string]string{"csr": csr})
		}, "orderNotReady", 403},
		{"badCSR other names", func(t *testing.T) response {
			other, _ := csrFor(t, "", []string{"other.test"})
			return owner.post(ready.Finalize, map[string]string{"csr": other})
		}, "badCSR", 400},
		{"badCSR garbage", func(t *testing.T) response {
			return owner.post(ready.Finalize, map[string]string{"csr": "AAAA"})
		}, "badCSR", 400},
		{"badRevocationReason", func(t *testing.T) response {
			return owner.post("revoke-cert", map[string]any{"certificate": certB64, "reason": 7})
		}, "badRevocationReason", 400},
		{"unauthorized revoke by another account", func(t *testing.T) response {
			cl := ca.client(t, "acme")
			cl.register()
			return cl.post("revoke-cert", map[string]any{"certificate": certB64})
		}, "unauthorized", 401},
		{"notFound order", func(t *testing.T) response {
			return owner.post("order/nope", nil)
		}, "malformed", 404},
		{"unauthorized another account's order", func(t *testing.T) response {
			cl := ca.client(t, "acme")
			cl.register()
			return cl.post(doneURL, nil)
		}, "unauthorized", 401},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := c.do(t)
			if r.status != c.status || r.problem() != c.typ {
				t.Fatalf("got %d %q (%s), want %d %q", r.status, r.problem(), r.body, c.status, c.typ)
			}
			if c.typ != "" && r.header.Get("Content-Type") != "application/problem+json" {
				t.Fatalf("Content-Type %q", r.header.Get("Content-Type"))
			}
			if c.typ == "badNonce" && r.header.Get("Replay-Nonce") == "" {
				t.Fatal("badNonce without a fresh Replay-Nonce")
			}
		})
	}
	// Revocation: by the ordering account, then alreadyRevoked.
	if r := owner.post("revoke-cert", map[string]any{"certificate": certB64, "reason": 1}); r.status != 200 {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	if r := owner.post("revoke-cert", map[string]any{"certificate": certB64}); r.problem() != "alreadyRevoked" || r.status != 400 {
		t.Fatalf("second revoke: %d %s", r.status, r.body)
	}
}

// TestIncorrectResponse: a challenge answered with the wrong key
// authorization is invalid (incorrectResponse), so are its authorization
// and order.
func TestIncorrectResponse(t *testing.T) {
	t.Parallel()
	ca := newTestCA(t)
	cl := ca.client(t, "acme")
	cl.register()
	o, loc := cl.newOrder()
	var a struct {
		Status     string
		Challenges []struct{ Type, URL, Token string }
	}
	cl.post(o.Authorizations[0], nil).decode(t, &a)
	ca.mu.Lock()
	ca.tokens[a.Challenges[0].Token] = "wrong.answer"
	ca.mu.Unlock()
	var ch struct {
		Status string
		Error  struct{ Type string }
	}
	cl.post(a.Challenges[0].URL, map[string]any{}).decode(t, &ch)
	if ch.Status != "invalid" || ch.Error.Type != acme.ProblemPrefix+"incorrectResponse" {
		t.Fatalf("challenge %+v", ch)
	}
	var got orderJSON
	cl.post(loc, nil).decode(t, &got)
	if got.Status != "invalid" {
		t.Fatalf("order %+v, want invalid", got)
	}
}

// TestAccountLifecycle: update contacts, key change (the old key no
// longer works, the new one does), authorization deactivation, account
// deactivation (then every request is unauthorized).
func TestAccountLifecycle(t *testing.T) {
	t.Parallel()
	ca := newTestCA(t)
	cl := ca.client(t, "acme")
	cl.register()
	var acc struct {
		Status  string
		Contact []string
	}
	cl.post(cl.kid, map[string]any{"contact": []string{"mailto:b@example.com"}}).decode(t, &acc)
	if acc.Status != "valid" || len(acc.Contact) != 1 || acc.Contact[0] != "mailto:b@example.com" {
		t.Fatalf("account update %+v", acc)
	}
	// Key change (RFC 8555 §7.3.5).
	newKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	inner, _ := json.Marshal(map[string]any{"account": cl.kid, "oldKey": jose.JSONWebKey{Key: cl.key.Public()}})
	u := cl.url("key-change")
	innerJWS := cl.sign(u, inner, "", true, newKey)
	r := cl.postRaw(u, cl.sign(u, innerJWS, cl.nonce(), false, nil))
	if r.status != 200 {
		t.Fatalf("key-change: %d %s", r.status, r.body)
	}
	if r := cl.post(cl.kid, nil); r.status != 400 || r.problem() != "malformed" {
		t.Fatalf("old key after key-change: %d %s", r.status, r.body)
	}
	cl.key = newKey
	if r := cl.post(cl.kid, nil); r.status != 200 {
		t.Fatalf("new key after key-change: %d %s", r.status, r.body)
	}
	// Key change to a key another account holds: 409 with its Location.
	other := ca.client(t, "acme")
	other.register()
	inner, _ = json.Marshal(map[string]any{"account": cl.kid, "oldKey": jose.JSONWebKey{Key: cl.key.Public()}})
	r = cl.postRaw(u, cl.sign(u, cl.sign(u, inner, "", true, other.key), cl.nonce(), false, nil))
	if r.status != 409 || r.header.Get("Location") != other.kid {
		t.Fatalf("key-change to a used key: %d %s %s", r.status, r.header.Get("Location"), r.body)
	}
	// Authorization deactivation.
	o, _ := cl.newOrder()
	var az struct{ Status string }
	cl.post(o.Authorizations[0], map[string]string{"status": "deactivated"}).decode(t, &az)
	if az.Status != "deactivated" {
		t.Fatalf("authz deactivation: %+v", az)
	}
	// Account deactivation.
	cl.post(cl.kid, map[string]string{"status": "deactivated"}).decode(t, &acc)
	if acc.Status != "deactivated" {
		t.Fatalf("deactivation: %+v", acc)
	}
	if r := cl.post("new-order", map[string]any{"identifiers": []acme.Identifier{{Type: "dns", Value: "a.test"}}}); r.status != 401 || r.problem() != "unauthorized" {
		t.Fatalf("deactivated account: %d %s", r.status, r.body)
	}
}

// TestConcurrentFinalize: eight finalizes of one ready order at once give
// exactly one certificate; the others are orderNotReady.
func TestConcurrentFinalize(t *testing.T) {
	t.Parallel()
	for _, single := range []bool{true, false} {
		t.Run(fmt.Sprintf("singleWriter=%v", single), func(t *testing.T) {
			t.Parallel()
			testConcurrentFinalize(t, newTestCAMode(t, single))
		})
	}
}

func testConcurrentFinalize(t *testing.T, ca *testCA) {
	cl := ca.client(t, "acme")
	cl.register()
	o, loc := cl.newOrder()
	cl.solve(o)
	// Sign every request first: nonces come from the server one by one.
	const n = 8
	bodies := make([][]byte, n)
	for i := range bodies {
		csr, _ := csrFor(t, "", nil, net.ParseIP("127.0.0.1"))
		p, _ := json.Marshal(map[string]string{"csr": csr})
		bodies[i] = cl.sign(o.Finalize, p, cl.nonce(), false, nil)
	}
	var wg sync.WaitGroup
	statuses := make([]response, n)
	for i := range bodies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = cl.postRaw(o.Finalize, bodies[i])
		}()
	}
	wg.Wait()
	ok := 0
	for _, r := range statuses {
		switch {
		case r.status == 200:
			ok++
		case r.problem() != "orderNotReady":
			t.Fatalf("finalize: %d %s", r.status, r.body)
		}
	}
	if ok != 1 {
		t.Fatalf("%d finalizes succeeded, want exactly 1", ok)
	}
	var got orderJSON
	cl.post(loc, nil).decode(t, &got)
	if got.Status != "valid" || got.Certificate == "" {
		t.Fatalf("order %+v", got)
	}
}

// TestDirectory: links on the /acme prefix (also when asked under
// /2.0/acme), meta with requireEAB and termsOfService, new-nonce headers.
func TestDirectory(t *testing.T) {
	t.Parallel()
	ca := newTestCA(t)
	resp, err := ca.srv.Client().Get("https://" + ca.host + "/2.0/acme/eab/directory")
	if err != nil {
		t.Fatal(err)
	}
	r := readResponse(resp)
	var d struct {
		NewNonce, NewAccount, NewOrder, RevokeCert, KeyChange string
		Meta                                                  struct {
			TermsOfService          string
			ExternalAccountRequired bool
		}
	}
	r.decode(t, &d)
	base := "https://" + ca.host + "/acme/eab/"
	if d.NewNonce != base+"new-nonce" || d.NewAccount != base+"new-account" || d.KeyChange != base+"key-change" ||
		!d.Meta.ExternalAccountRequired || d.Meta.TermsOfService != "https://tos.example" {
		t.Fatalf("directory %s", r.body)
	}
	resp, err = ca.srv.Client().Get(d.NewNonce)
	if err != nil {
		t.Fatal(err)
	}
	r = readResponse(resp)
	if r.status != 204 || r.header.Get("Replay-Nonce") == "" || r.header.Get("Cache-Control") != "no-store" ||
		r.header.Get("Link") != "<"+base+"directory>;rel=\"index\"" {
		t.Fatalf("new-nonce: %d %v", r.status, r.header)
	}
	resp, err = ca.srv.Client().Get("https://" + ca.host + "/acme/nope/directory")
	if err != nil {
		t.Fatal(err)
	}
	if r := readResponse(resp); r.status != 404 {
		t.Fatalf("unknown provisioner: %d", r.status)
	}
}

func readResponse(resp *http.Response) response {
	defer resp.Body.Close()
	b := make([]byte, 0, 4096)
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b = append(b, buf[:n]...)
		if err != nil {
			break
		}
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

func pemDER(t *testing.T, b []byte) []byte {
	t.Helper()
	s := string(b)
	i := strings.Index(s, "-----BEGIN CERTIFICATE-----\n")
	j := strings.Index(s, "\n-----END CERTIFICATE-----")
	der, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(s[i+28:j], "\n", ""))
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// TestOrderValidity: the certificate of an order with notBefore/notAfter
// has that validity.
func TestOrderValidity(t *testing.T) {
	t.Parallel()
	ca := newTestCA(t)
	cl := ca.client(t, "acme")
	cl.register()
	nb := ca.env.Clock.Now().UTC().Truncate(time.Second)
	na := nb.Add(2 * time.Hour)
	r := cl.post("new-order", map[string]any{"identifiers": []acme.Identifier{{Type: "ip", Value: "127.0.0.1"}},
		"notBefore": nb, "notAfter": na})
	if r.status != 201 {
		t.Fatalf("new-order: %d %s", r.status, r.body)
	}
	var o orderJSON
	r.decode(t, &o)
	cl.solve(o)
	csr, _ := csrFor(t, "", nil, net.ParseIP("127.0.0.1"))
	var got orderJSON
	cl.post(o.Finalize, map[string]string{"csr": csr}).decode(t, &got)
	if got.Status != "valid" {
		t.Fatalf("finalize: %+v", got)
	}
	leaf, err := x509.ParseCertificate(pemDER(t, cl.post(got.Certificate, nil).body))
	if err != nil {
		t.Fatal(err)
	}
	if !leaf.NotBefore.Equal(nb) || !leaf.NotAfter.Equal(na) {
		t.Fatalf("validity %s – %s, want %s – %s", leaf.NotBefore, leaf.NotAfter, nb, na)
	}
}

// TestChallengeRetry: a challenge whose server does not answer yet (404) is
// processing with a Retry-After, and so is its pending authorization; once
// the server answers, a background retry makes both valid (RFC 8555 §8.2).
func TestChallengeRetry(t *testing.T) {
	t.Parallel()
	ca := newTestCA(t)
	cl := ca.client(t, "acme")
	cl.register()
	o, loc := cl.newOrder()
	var a struct {
		Status     string
		Challenges []struct{ Type, URL, Token string }
	}
	cl.post(o.Authorizations[0], nil).decode(t, &a)
	var ch struct {
		Status string
		Error  struct{ Type string }
	}
	r := cl.post(a.Challenges[0].URL, map[string]any{}) // the token is not served yet
	r.decode(t, &ch)
	if ch.Status != "processing" || ch.Error.Type != acme.ProblemPrefix+"connection" {
		t.Fatalf("challenge %d %s, want processing with a connection error", r.status, r.body)
	}
	if ra, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || ra < 1 {
		t.Fatalf("challenge Retry-After %q, want whole seconds >= 1", r.header.Get("Retry-After"))
	}
	r = cl.post(o.Authorizations[0], nil)
	r.decode(t, &a)
	if a.Status != "pending" || r.header.Get("Retry-After") == "" {
		t.Fatalf("authorization %s Retry-After %q, want pending with a Retry-After", r.body, r.header.Get("Retry-After"))
	}
	ka, err := acme.KeyAuthorization(a.Challenges[0].Token, &jose.JSONWebKey{Key: cl.key.Public()})
	if err != nil {
		t.Fatal(err)
	}
	ca.mu.Lock()
	ca.tokens[a.Challenges[0].Token] = ka
	ca.mu.Unlock()
	deadline := time.Now().Add(30 * time.Second)
	for {
		r = cl.post(o.Authorizations[0], nil)
		r.decode(t, &a)
		if a.Status == "valid" {
			break
		}
		if a.Status != "pending" || time.Now().After(deadline) {
			t.Fatalf("authorization %s, want pending then valid", r.body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if ra := r.header.Get("Retry-After"); ra != "" {
		t.Fatalf("valid authorization has Retry-After %q", ra)
	}
	var got orderJSON
	cl.post(loc, nil).decode(t, &got)
	if got.Status != "ready" {
		t.Fatalf("order %+v, want ready", got)
	}
}
