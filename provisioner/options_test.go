package provisioner_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mayfly-pki/mayfly/internal/jose"
	"github.com/mayfly-pki/mayfly/provisioner"
	"github.com/mayfly-pki/mayfly/provisioner/token"
	"github.com/mayfly-pki/mayfly/templates"
)

const orgTemplate = `{"subject": {"commonName": {{ toJson .Subject.CommonName }}, "organization": {{ toJson .Org }}}}`

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

// x509Options builds an "options" member with the given x509 block.
func x509Options(t *testing.T, x509 map[string]any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(map[string]any{"x509": x509})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// render renders t with the data of a request for sub without a token.
func render(t *testing.T, tpl *provisioner.X509Template, sub string) *templates.Certificate {
	t.Helper()
	data := tpl.Data(sub, []string{sub}, nil)
	data.SetCertificateRequest(&x509.CertificateRequest{})
	data.SetUserData(nil)
	c, err := tpl.Template().Certificate(data)
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	return c
}

func TestParseX509TemplateSources(t *testing.T) {
	t.Parallel()
	step := t.TempDir()
	writeFile(t, filepath.Join(step, "templates", "leaf.tpl"), orgTemplate)
	abs := filepath.Join(t.TempDir(), "abs.tpl")
	writeFile(t, abs, orgTemplate)
	data := map[string]any{"Org": "Acme"}
	tests := []struct {
		name string
		x509 map[string]any
	}{
		{"inline JSON", map[string]any{"template": "  " + orgTemplate + "\n", "templateData": data}},
		{"inline base64 (admin API)", map[string]any{"template": base64.StdEncoding.EncodeToString([]byte(orgTemplate)), "templateData": data}},
		{"absolute file", map[string]any{"templateFile": abs, "templateData": data}},
		{"file relative to STEPPATH", map[string]any{"templateFile": "templates/leaf.tpl", "templateData": data}},
		{"inline wins over a file", map[string]any{"template": orgTemplate, "templateFile": "templates/missing.tpl", "templateData": data}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tpl, err := provisioner.ParseX509Template(x509Options(t, tt.x509), step)
			if err != nil || tpl == nil {
				t.Fatalf("ParseX509Template = %v, %v", tpl, err)
			}
			c := render(t, tpl, "a.example.com")
			if c.Subject.CommonName != "a.example.com" || len(c.Subject.Organization) != 1 || c.Subject.Organization[0] != "Acme" {
				t.Fatalf("subject = %+v", c.Subject)
			}
		})
	}
}

func TestParseX509TemplateNone(t *testing.T) {
	t.Parallel()
	for _, opts := range []string{``, `null`, `{}`, `{"x509":null}`, `{"x509":{}}`, `{"ssh":{"templateFile":"missing.tpl"}}`,
		`{"x509":{"templateData":{"team":"x"}}}`, `{"x509":{"template":"","templateFile":""}}`} {
		tpl, err := provisioner.ParseX509Template(json.RawMessage(opts), t.TempDir())
		if err != nil || tpl != nil {
			t.Fatalf("ParseX509Template(%s) = %v, %v; want the default leaf (nil, nil)", opts, tpl, err)
		}
	}
}

// templateData that changes .Subject reaches step-ca's default template, so
// it needs the templating path even without a template.
func TestParseX509TemplateDataOnlyChangesDefault(t *testing.T) {
	t.Parallel()
	opts := x509Options(t, map[string]any{"templateData": map[string]any{"Subject": map[string]any{"commonName": "fixed", "country": "NZ"}}})
	tpl, err := provisioner.ParseX509Template(opts, "")
	if err != nil || tpl == nil {
		t.Fatalf("ParseX509Template = %v, %v", tpl, err)
	}
	c := render(t, tpl, "a.example.com")
	if c.Subject.CommonName != "fixed" || len(c.Subject.Country) != 1 || c.Subject.Country[0] != "NZ" {
		t.Fatalf("subject = %+v", c.Subject)
	}
	if len(c.ExtKeyUsage) != 2 || len(c.SANs) != 1 || c.SANs[0].Value != "a.example.com" {
		t.Fatalf("not the default leaf: %+v", c)
	}
}

func TestParseX509TemplateErrors(t *testing.T) {
	t.Parallel()
	step := t.TempDir()
	writeFile(t, filepath.Join(step, "bad.tpl"), `{"subject": {{ .Subject `)
	writeFile(t, filepath.Join(step, "big.tpl"), strings.Repeat(" ", provisioner.MaxTemplateSize+1))
	tests := []struct {
		name string
		opts string
		path string
		msg  string
	}{
		{"missing relative file", `{"x509":{"templateFile":"templates/none.tpl"}}`, "options.x509.templateFile",
			"cannot read " + filepath.Join(step, "templates", "none.tpl") + ": no such file or directory"},
		{"bad file", `{"x509":{"templateFile":"bad.tpl"}}`, "options.x509.templateFile", "error parsing template " + filepath.Join(step, "bad.tpl") + ": line 1"},
		{"directory", `{"x509":{"templateFile":"."}}`, "options.x509.templateFile", "is not a regular file"},
		{"too big", `{"x509":{"templateFile":"big.tpl"}}`, "options.x509.templateFile", "larger than"},
		{"bad inline", `{"x509":{"template":"{ {{ end }} }"}}`, "options.x509.template", "error parsing template"},
		{"blank inline", `{"x509":{"template":"  "}}`, "options.x509.template", "empty"},
		{"not base64", `{"x509":{"template":"!!"}}`, "options.x509.template", "nor base64"},
		{"file not a string", `{"x509":{"templateFile":["a"]}}`, "options.x509.templateFile", "must be a string"},
		{"data a list", `{"x509":{"template":"{}","templateData":[1]}}`, "options.x509.templateData", "must be a JSON object"},
		{"data a string", `{"x509":{"template":"{}","templateData":"x"}}`, "options.x509.templateData", "must be a JSON object"},
		{"x509 a list", `{"x509":[]}`, "options.x509", "must be a JSON object"},
		{"options a string", `"x"`, "options", "must be a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tpl, err := provisioner.ParseX509Template(json.RawMessage(tt.opts), step)
			var oe *provisioner.OptionError
			if !errors.As(err, &oe) || tpl != nil {
				t.Fatalf("ParseX509Template = %v, %v; want an *OptionError", tpl, err)
			}
			if oe.Path != tt.path || !strings.Contains(oe.Err.Error(), tt.msg) {
				t.Fatalf("error = %q, want path %q with %q", err, tt.path, tt.msg)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error is not one line: %q", err)
			}
		})
	}
}

func TestX509TemplateData(t *testing.T) {
	t.Parallel()
	opts := x509Options(t, map[string]any{
		"template":     `{"subject": {{ toJson .Subject }}}`,
		"templateData": map[string]any{"Team": map[string]any{"name": "pki", "tags": []any{"a"}}, "Token": "overridden?"},
	})
	tpl, err := provisioner.ParseX509Template(opts, "")
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jwk, err := jose.NewSigningJWK(key)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1900000000, 0)
	raw, err := token.Sign(jwk, &token.Claims{Subject: "a.example.com", Issuer: "admin", SANs: []string{"a.example.com", "10.0.0.1"},
		Expiry: token.NewNumericDate(now), User: map[string]any{"k": "v"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := token.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	claims := provisioner.TokenPayload(tok)
	if claims["sub"] != "a.example.com" || claims["exp"] != float64(1900000000) || claims["user"].(map[string]any)["k"] != "v" {
		t.Fatalf("TokenPayload = %v", claims)
	}

	d := tpl.Data("a.example.com", tok.Claims.SANs, tok)
	if n, ok := d[templates.SubjectKey].(templates.Name); !ok || n.CommonName != "a.example.com" {
		t.Fatalf(".Subject = %#v", d[templates.SubjectKey])
	}
	sans, ok := d[templates.SANsKey].([]templates.SubjectAlternativeName)
	if !ok || len(sans) != 2 || sans[1].Type != templates.SANTypeIP {
		t.Fatalf(".SANs = %#v", d[templates.SANsKey])
	}
	// templateData is merged last, over .Token, as step-ca unmarshals it
	// over the data.
	if d[templates.TokenKey] != "overridden?" {
		t.Fatalf(".Token = %#v, want the templateData value", d[templates.TokenKey])
	}
	// Each request gets its own copy of templateData.
	d["Team"].(map[string]any)["name"] = "changed"
	d["Team"].(map[string]any)["tags"].([]any)[0] = "changed"
	again := tpl.Data("b", nil, nil)
	team := again["Team"].(map[string]any)
	if team["name"] != "pki" || team["tags"].([]any)[0] != "a" {
		t.Fatalf("templateData shared between requests: %v", team)
	}

	// Without templateData over it, .Token is the payload.
	plain, err := provisioner.ParseX509Template(x509Options(t, map[string]any{"template": `{}`}), "")
	if err != nil {
		t.Fatal(err)
	}
	if tc, ok := plain.Data("a", nil, tok)[templates.TokenKey].(map[string]any); !ok || tc["iss"] != "admin" {
		t.Fatalf(".Token = %#v", plain.Data("a", nil, tok)[templates.TokenKey])
	}
}

// The parsed template renders concurrently with per-request data.
func TestX509TemplateConcurrent(t *testing.T) {
	t.Parallel()
	tpl, err := provisioner.ParseX509Template(x509Options(t, map[string]any{
		"template":     `{{ $_ := set .Team "seen" .Subject.CommonName }}{"subject": {"commonName": {{ toJson .Team.seen }}}}`,
		"templateData": map[string]any{"Team": map[string]any{}},
	}), "")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 8)
	for i := range 8 {
		go func() {
			sub := strings.Repeat("x", i+1)
			data := tpl.Data(sub, nil, nil)
			data.SetCertificateRequest(&x509.CertificateRequest{})
			c, err := tpl.Template().Certificate(data)
			if err == nil && c.Subject.CommonName != sub {
				err = errors.New("got " + c.Subject.CommonName + ", want " + sub)
			}
			done <- err
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}
