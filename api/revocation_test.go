package api_test

import (
	"bytes"
	"encoding/base64"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	xocsp "golang.org/x/crypto/ocsp"

	"github.com/mayfly-pki/mayfly/api"
	"github.com/mayfly-pki/mayfly/authority"
	at "github.com/mayfly-pki/mayfly/authority/authoritytest"
)

func TestCRLRoute(t *testing.T) {
	t.Parallel()
	s := newServer(t, at.Options{Store: at.OpenBadger(t), CRL: &authority.CRLOptions{IDPURL: "https://ca.example.com/1.0/crl"}})
	for _, path := range []string{"/crl", "/1.0/crl"} {
		w := s.do(t, request{method: "GET", path: path})
		if w.Code != 200 || w.Header().Get("Content-Type") != "application/pkix-crl" ||
			w.Header().Get("Content-Disposition") != `attachment; filename="crl.crl"` || w.Header().Get("Expires") == "" {
			t.Fatalf("GET %s: %d %v", path, w.Code, w.Header())
		}
	}
	w := s.do(t, request{method: "GET", path: "/1.0/crl?pem"})
	if b, _ := pem.Decode(w.Body.Bytes()); w.Code != 200 || b == nil || b.Type != "X509 CRL" ||
		w.Header().Get("Content-Type") != "application/x-pem-file" || w.Header().Get("Content-Disposition") != `attachment; filename="crl.pem"` {
		t.Fatalf("GET /crl?pem: %d %v %q", w.Code, w.Header(), w.Body.String())
	}
	// Disabled: 404.
	off := newServer(t, at.Options{})
	if w := off.do(t, request{method: "GET", path: "/crl"}); w.Code != 404 {
		t.Fatalf("disabled CRL: %d", w.Code)
	}
	if w := off.do(t, request{method: "POST", path: "/ocsp", body: "x"}); w.Code != 404 {
		t.Fatalf("disabled OCSP: %d", w.Code)
	}
}

func TestOCSPRoutes(t *testing.T) {
	t.Parallel()
	s := newServer(t, at.Options{Store: at.OpenBadger(t), OCSP: &authority.OCSPOptions{URL: "http://ca.example.com/ocsp"}})
	cert, _ := s.env.Issue(t, "o.example.com", 0)
	req, err := xocsp.CreateRequest(cert, s.env.PKI.Intermediate, nil)
	if err != nil {
		t.Fatal(err)
	}
	check := func(name string, w *httptest.ResponseRecorder, cached bool) {
		t.Helper()
		if w.Code != 200 || w.Header().Get("Content-Type") != "application/ocsp-response" {
			t.Fatalf("%s: %d %v", name, w.Code, w.Header())
		}
		if cached != strings.Contains(w.Header().Get("Cache-Control"), "max-age=") {
			t.Fatalf("%s: Cache-Control %q", name, w.Header().Get("Cache-Control"))
		}
		if r, err := xocsp.ParseResponseForCert(w.Body.Bytes(), cert, s.env.PKI.Intermediate); err != nil || r.Status != xocsp.Good {
			t.Fatalf("%s: %v", name, err)
		}
	}
	b64 := base64.StdEncoding.EncodeToString(req)
	check("GET escaped", s.do(t, request{method: "GET", path: "/1.0/ocsp/" + url.PathEscape(b64)}), true)
	check("GET base64url", s.do(t, request{method: "GET", path: "/ocsp/" + base64.RawURLEncoding.EncodeToString(req)}), true)
	check("POST", s.do(t, request{method: "POST", path: "/ocsp", body: string(req), header: map[string]string{"Content-Type": "application/ocsp-request"}}), false)
	w := s.do(t, request{method: "GET", path: "/ocsp/" + url.PathEscape(b64)})
	if w2 := s.do(t, request{method: "GET", path: "/ocsp/" + url.PathEscape(b64), header: map[string]string{"If-None-Match": w.Header().Get("ETag")}}); w2.Code != http.StatusNotModified {
		t.Fatalf("If-None-Match: %d", w2.Code)
	}
	// Garbage: RFC 6960's malformedRequest answer, not an HTTP error.
	if w := s.do(t, request{method: "GET", path: "/ocsp/!!!"}); w.Code != 200 || !bytes.Equal(w.Body.Bytes(), xocsp.MalformedRequestErrorResponse) {
		t.Fatalf("garbage: %d %x", w.Code, w.Body.Bytes())
	}
	// Too large.
	if w := s.do(t, request{method: "POST", path: "/ocsp", body: strings.Repeat("x", 10<<10)}); w.Code != 400 {
		t.Fatalf("large POST: %d", w.Code)
	}
	// The plain HTTP listener serves both too.
	ins := api.NewInsecure(api.Deps{Authority: func() *authority.Authority { return s.env.Authority }, Now: s.env.Clock.Now})
	rec := httptest.NewRecorder()
	ins.ServeHTTP(rec, httptest.NewRequest("GET", "/ocsp/"+url.PathEscape(b64), nil))
	check("insecure GET", rec, true)
}
