package api_test

import (
	"encoding/base64"
	"io"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/sirupsen/logrus"
	xocsp "golang.org/x/crypto/ocsp"

	"github.com/mayfly-pki/mayfly/api"
	"github.com/mayfly-pki/mayfly/authority"
	at "github.com/mayfly-pki/mayfly/authority/authoritytest"
)

// BenchmarkOCSPGet is one cached OCSP answer through the API handler
// (routing, the access log line in step-ca's text format, headers), without
// TLS and the network.
func BenchmarkOCSPGet(b *testing.B) {
	env := at.New(b, at.Options{Store: at.OpenBadger(b), OCSP: &authority.OCSPOptions{URL: "http://ca.example.com/ocsp"}})
	logger := logrus.New()
	logger.Out = io.Discard
	h := api.New(api.Deps{Authority: func() *authority.Authority { return env.Authority }, Logger: logger, Now: env.Clock.Now})
	cert, _ := env.Issue(b, "o.example.com", 0)
	req, _ := xocsp.CreateRequest(cert, env.PKI.Intermediate, nil)
	path := "/1.0/ocsp/" + url.PathEscape(base64.StdEncoding.EncodeToString(req))
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		if w.Code != 200 {
			b.Fatal(w.Code)
		}
	}
}
