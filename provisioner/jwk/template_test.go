package jwk_test

import (
	"context"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mayfly-pki/mayfly/provisioner/jwk"
	"github.com/mayfly-pki/mayfly/templates"
)

func TestNewTemplateErrors(t *testing.T) {
	t.Parallel()
	key := newKey(t)
	cfg := config()
	cfg.StepPath = t.TempDir()
	tests := []struct {
		name string
		opts map[string]any
		want string
	}{
		{"missing file", map[string]any{"x509": map[string]any{"templateFile": "templates/x509/leaf.tpl"}},
			`JWK provisioner "admin": options.x509.templateFile: cannot read ` + filepath.Join(cfg.StepPath, "templates/x509/leaf.tpl")},
		{"bad inline", map[string]any{"x509": map[string]any{"template": "{{ if }}"}}, `JWK provisioner "admin": options.x509.template: error parsing template`},
		{"bad data", map[string]any{"x509": map[string]any{"template": "{}", "templateData": 3}}, `options.x509.templateData: must be a JSON object`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := jwk.New(entry(t, "admin", key.Public(), map[string]any{"options": tt.opts}), cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestAuthorizeSignTemplate(t *testing.T) {
	t.Parallel()
	key := newKey(t)
	cfg := config()
	cfg.StepPath = t.TempDir()
	file := filepath.Join(cfg.StepPath, "leaf.tpl")
	text := `{"subject": {"commonName": {{ toJson .Subject.CommonName }}, "organization": {{ toJson .Org }}},
"sans": {{ toJson .SANs }}, "extKeyUsage": ["codeSigning"],
"unknownExtKeyUsage": [{{ toJson .Token.iss | replace "admin" "1.2.3.4" }}]}`
	if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	opts := map[string]any{"x509": map[string]any{"templateFile": "leaf.tpl", "templateData": map[string]any{"Org": "Acme"}}}
	p, err := jwk.New(entry(t, "admin", key.Public(), map[string]any{"options": opts}), cfg)
	if err != nil {
		t.Fatal(err)
	}
	c := signClaims(caURL+"/1.0/sign", "a.example.com")
	c.SANs = []string{"a.example.com", "10.0.0.1"}
	a, err := p.AuthorizeSign(context.Background(), mint(t, key, c))
	if err != nil {
		t.Fatal(err)
	}
	if a.Template == nil || a.Template.Template == nil || a.Template.Data == nil {
		t.Fatalf("no template in the authorization: %+v", a)
	}
	a.Template.Data.SetCertificateRequest(&x509.CertificateRequest{})
	a.Template.Data.SetUserData(nil)
	cert, err := a.Template.Template.Certificate(a.Template.Data)
	if err != nil {
		t.Fatal(err)
	}
	if cert.Subject.CommonName != "a.example.com" || strings.Join(cert.Subject.Organization, ",") != "Acme" {
		t.Fatalf("subject = %+v", cert.Subject)
	}
	if len(cert.SANs) != 2 || cert.SANs[1].Type != templates.SANTypeIP || cert.SANs[1].Value != "10.0.0.1" {
		t.Fatalf("sans = %+v", cert.SANs)
	}
	if len(cert.UnknownExtKeyUsage) != 1 || cert.UnknownExtKeyUsage[0].String() != "1.2.3.4" {
		t.Fatalf("unknownExtKeyUsage from .Token.iss = %v", cert.UnknownExtKeyUsage)
	}

	// Without options.x509 the authorization carries no template: the
	// authority builds the default leaf directly.
	plain := newProvisioner(t, key, map[string]any{"options": map[string]any{"x509": map[string]any{}, "ssh": map[string]any{}}})
	a, err = plain.AuthorizeSign(context.Background(), mint(t, key, signClaims(caURL+"/1.0/sign", "a.example.com")))
	if err != nil || a.Template != nil {
		t.Fatalf("default provisioner: %+v, %v", a, err)
	}
}
