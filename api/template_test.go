package api_test

import (
	"encoding/json"
	"slices"
	"testing"

	at "github.com/mayfly-pki/mayfly/authority/authoritytest"
)

// The body's templateData reaches the provisioner's template as
// .Insecure.User; a template's fail is a 400 with its message, a template
// that renders no certificate a 500 "error applying certificate template".
func TestSignTemplateData(t *testing.T) {
	t.Parallel()
	tpl := `{{ if eq (toString .Insecure.User.org) "fail" }}{{ fail "org may not be fail" }}{{ end }}` +
		`{{ if eq (toString .Insecure.User.org) "broken" }}not json{{ else }}` +
		`{"subject": {"commonName": {{ toJson .Subject.CommonName }}, "organization": {{ toJson .Insecure.User.org }}}, "sans": {{ toJson .SANs }}}{{ end }}`
	s := newServer(t, at.Options{AdminExtra: map[string]any{"options": map[string]any{"x509": map[string]any{"template": tpl}}}})
	body := func(user string) string {
		csr := at.NewCSR(t, at.CSR{CommonName: "t.example.com", DNSNames: []string{"t.example.com"}})
		m := map[string]any{"csr": at.CSRPEM(csr), "ott": s.env.SignToken(t, "t.example.com"), "notBefore": "", "notAfter": ""}
		if user != "" {
			m["templateData"] = json.RawMessage(user)
		}
		return mustJSON(t, m)
	}
	w := s.do(t, request{method: "POST", path: "/1.0/sign", body: body(`{"org":"Acme"}`)})
	if w.Code != 201 {
		t.Fatalf("sign: %d %s", w.Code, w.Body)
	}
	if c := parseSignResponse(t, s, w.Body.Bytes()); !slices.Equal(c.Subject.Organization, []string{"Acme"}) {
		t.Fatalf("subject = %s", c.Subject)
	}
	wantError(t, s.do(t, request{method: "POST", path: "/1.0/sign", body: body(`{"org":"fail"}`)}), 400,
		"The request could not be completed: org may not be fail.")
	wantError(t, s.do(t, request{method: "POST", path: "/1.0/sign", body: body(`{"org":"broken"}`)}), 500,
		"error applying certificate template")
	// templateData of the wrong JSON type is no data, as step-ca treats it.
	w = s.do(t, request{method: "POST", path: "/1.0/sign", body: body(`"Acme"`)})
	if w.Code != 201 {
		t.Fatalf("sign with a string templateData: %d %s", w.Code, w.Body)
	}
	if c := parseSignResponse(t, s, w.Body.Bytes()); len(c.Subject.Organization) != 0 {
		t.Fatalf("subject = %s", c.Subject)
	}
}
