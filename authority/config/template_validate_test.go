package config

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// withX509Options returns validBase with a second provisioner whose options
// are opts.
func withX509Options(opts string) *Config {
	c := validBase()
	c.Authority.Provisioners = append(c.Authority.Provisioners,
		json.RawMessage(`{"type":"JWK","name":"tpl","options":`+opts+`}`))
	return c
}

func writeTemplate(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestValidateX509Templates(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := writeTemplate(t, dir, "good.tpl", `{"subject": {{ toJson .Subject }}}`)
	bad := writeTemplate(t, dir, "bad.tpl", "{\n\"subject\": {{ toJson .Subject }\n}")
	missing := filepath.Join(dir, "missing.tpl")
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	tests := []struct {
		name string
		opts string
		path string // "" means: valid
		msg  string
	}{
		{"template file", `{"x509":{"templateFile":` + q(good) + `}}`, "", ""},
		{"inline template and data", `{"x509":{"template":"{\"subject\": {{ toJson .Subject }}}","templateData":{"a":1}}}`, "", ""},
		{"no x509 block", `{"ssh":{"templateFile":"nowhere.tpl"}}`, "", ""},
		{"null options", `null`, "", ""},
		{"missing file", `{"x509":{"templateFile":` + q(missing) + `}}`,
			"authority.provisioners[1].options.x509.templateFile", "cannot read " + missing + ": no such file or directory"},
		{"file that does not parse", `{"x509":{"templateFile":` + q(bad) + `}}`,
			"authority.provisioners[1].options.x509.templateFile", "error parsing template " + bad + ": line 2"},
		{"a directory", `{"x509":{"templateFile":` + q(dir) + `}}`,
			"authority.provisioners[1].options.x509.templateFile", "not a regular file"},
		{"inline that does not parse", `{"x509":{"template":"{ {{ .Subject "}}`,
			"authority.provisioners[1].options.x509.template", "error parsing template"},
		{"inline not base64", `{"x509":{"template":"not a template"}}`,
			"authority.provisioners[1].options.x509.template", "nor base64"},
		{"template not a string", `{"x509":{"template":1}}`,
			"authority.provisioners[1].options.x509.template", "must be a string"},
		{"data not an object", `{"x509":{"templateFile":` + q(good) + `,"templateData":[1]}}`,
			"authority.provisioners[1].options.x509.templateData", "must be a JSON object"},
		{"x509 not an object", `{"x509":"x"}`, "authority.provisioners[1].options.x509", "must be a JSON object"},
		{"options not an object", `[]`, "authority.provisioners[1].options", "must be a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := withX509Options(tt.opts).Validate()
			if tt.path == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) || len(ve.Problems) != 1 {
				t.Fatalf("Validate() = %v, want one problem", err)
			}
			if p := ve.Problems[0]; p.Path != tt.path || !strings.Contains(p.Message, tt.msg) {
				t.Fatalf("problem %q, want path %q with %q", p, tt.path, tt.msg)
			}
		})
	}
}

// Template problems are reported with the other problems of the file.
func TestValidateX509TemplateWithOtherProblems(t *testing.T) {
	t.Parallel()
	c := withX509Options(`{"x509":{"templateFile":"/nonexistent/mayfly/leaf.tpl"}}`)
	c.Address = ""
	err := c.Validate()
	var ve *ValidationError
	if !errors.As(err, &ve) || len(ve.Problems) != 2 {
		t.Fatalf("Validate() = %v, want two problems", err)
	}
	if !strings.Contains(err.Error(), "authority.provisioners[1].options.x509.templateFile: cannot read /nonexistent/mayfly/leaf.tpl") {
		t.Fatalf("Validate() = %v", err)
	}
}

// A relative templateFile is relative to $STEPPATH, as step-ca resolves it.
// Not parallel: it sets STEPPATH.
func TestValidateX509TemplateRelativeToStepPath(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "templates", "x509"), 0o700); err != nil {
		t.Fatal(err)
	}
	writeTemplate(t, filepath.Join(dir, "templates", "x509"), "leaf.tpl", `{"subject": {{ toJson .Subject }}}`)
	t.Setenv("STEPPATH", dir)
	if err := withX509Options(`{"x509":{"templateFile":"templates/x509/leaf.tpl"}}`).Validate(); err != nil {
		t.Fatalf("Validate() = %v", err)
	}
	err := withX509Options(`{"x509":{"templateFile":"templates/x509/other.tpl"}}`).Validate()
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "templates", "x509", "other.tpl")) {
		t.Fatalf("Validate() = %v, want an error naming the file under STEPPATH", err)
	}
}
