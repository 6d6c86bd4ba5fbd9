package provisioner

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/mayfly-pki/mayfly/internal/steppath"
	"github.com/mayfly-pki/mayfly/provisioner/token"
	"github.com/mayfly-pki/mayfly/templates"
)

// X509Options is options.x509 of a provisioner entry (wire-spec §7.4): the
// certificate template that replaces the default leaf, inline or in a file,
// and data for it.
type X509Options struct {
	// Template is the template text, or its standard base64 (how the admin
	// API stores templates) when it does not start with '{'. It wins over
	// TemplateFile.
	Template string `json:"template,omitempty"`
	// TemplateFile is a template file; a relative path is relative to
	// $STEPPATH, as step-ca resolves it.
	TemplateFile string `json:"templateFile,omitempty"`
	// TemplateData is a JSON object whose members are set at the top level of
	// the template data ({{ .Foo }}).
	TemplateData json.RawMessage `json:"templateData,omitempty"`
}

// MaxTemplateSize bounds a template file. Templates are JSON documents of a
// few KiB; the bound keeps a mistaken path (a log file, a device) from being
// read whole.
const MaxTemplateSize = 1 << 20

// OptionError is a problem in a provisioner's options. Path is the JSON path
// of the member at fault inside the provisioner entry, such as
// "options.x509.templateFile"; ca.json validation prefixes it with the
// entry's own path.
type OptionError struct {
	Path string
	Err  error
}

func (e *OptionError) Error() string { return e.Path + ": " + e.Err.Error() }
func (e *OptionError) Unwrap() error { return e.Err }

// X509Template is a provisioner's parsed X.509 template and template data:
// what its options.x509 configures. Immutable and safe for concurrent use.
type X509Template struct {
	tmpl *templates.X509Template
	data map[string]any // templateData; copied for every request
}

// ParseX509Template reads options.x509 from options (a provisioner entry's
// raw "options" member; empty or null when absent), reads the template file,
// parses the template and decodes the template data, once per configuration.
// It returns nil, nil when no template is configured: the provisioner issues
// the default leaf, which the authority builds without text/template.
//
// A relative templateFile is joined to stepPath, or to the current $STEPPATH
// (with its context) when stepPath is empty. Errors are *OptionError.
func ParseX509Template(options json.RawMessage, stepPath string) (*X509Template, error) {
	o, err := decodeX509Options(options)
	if err != nil || o == nil {
		return nil, err
	}
	var data map[string]any
	if !isNull(o.TemplateData) {
		if err := json.Unmarshal(o.TemplateData, &data); err != nil || data == nil {
			return nil, &OptionError{Path: "options.x509.templateData", Err: errors.New("must be a JSON object")}
		}
	}
	var text, name, path string
	switch {
	case o.Template != "":
		path = "options.x509.template"
		if text, err = inlineTemplate(o.Template); err != nil {
			return nil, &OptionError{Path: path, Err: err}
		}
	case o.TemplateFile != "":
		path = "options.x509.templateFile"
		if name, err = resolvePath(o.TemplateFile, stepPath); err != nil {
			return nil, &OptionError{Path: path, Err: err}
		}
		if text, err = readTemplateFile(name); err != nil {
			return nil, &OptionError{Path: path, Err: err}
		}
	case usesDefaultData(data):
		// templateData without a template still reaches step-ca's default
		// leaf template, which reads .Subject and .SANs.
		text, path = templates.DefaultLeafTemplate, "options.x509.templateData"
	default:
		return nil, nil
	}
	tmpl, err := templates.ParseX509(name, text)
	if err != nil {
		return nil, &OptionError{Path: path, Err: err}
	}
	return &X509Template{tmpl: tmpl, data: data}, nil
}

// decodeX509Options decodes options.x509, naming the member whose JSON type
// is wrong. It returns nil when there is no x509 block.
func decodeX509Options(options json.RawMessage) (*X509Options, error) {
	if isNull(options) {
		return nil, nil
	}
	var o struct {
		X509 json.RawMessage `json:"x509"`
	}
	if err := json.Unmarshal(options, &o); err != nil {
		return nil, &OptionError{Path: "options", Err: errors.New("must be a JSON object")}
	}
	if isNull(o.X509) {
		return nil, nil
	}
	var x struct {
		Template     json.RawMessage `json:"template"`
		TemplateFile json.RawMessage `json:"templateFile"`
		TemplateData json.RawMessage `json:"templateData"`
	}
	if err := json.Unmarshal(o.X509, &x); err != nil {
		return nil, &OptionError{Path: "options.x509", Err: errors.New("must be a JSON object")}
	}
	out := &X509Options{TemplateData: x.TemplateData}
	for _, f := range []struct {
		name string
		raw  json.RawMessage
		dst  *string
	}{{"template", x.Template, &out.Template}, {"templateFile", x.TemplateFile, &out.TemplateFile}} {
		if isNull(f.raw) {
			continue
		}
		if err := json.Unmarshal(f.raw, f.dst); err != nil {
			return nil, &OptionError{Path: "options.x509." + f.name, Err: errors.New("must be a string")}
		}
	}
	return out, nil
}

func isNull(raw json.RawMessage) bool {
	s := bytes.TrimSpace(raw)
	return len(s) == 0 || string(s) == "null"
}

// inlineTemplate returns the text of an inline template: JSON text as is,
// anything else decoded as standard base64, as step-ca reads it.
func inlineTemplate(v string) (string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", errors.New("the template is empty")
	}
	if strings.HasPrefix(v, "{") {
		return v, nil
	}
	b, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		return "", errors.New("neither a JSON template (starting with '{') nor base64")
	}
	return string(b), nil
}

// resolvePath makes a relative template path relative to $STEPPATH.
func resolvePath(name, stepPath string) (string, error) {
	if filepath.IsAbs(name) {
		return filepath.Clean(name), nil
	}
	if stepPath == "" {
		p, err := steppath.Path()
		if err != nil {
			return "", fmt.Errorf("cannot resolve the relative path %q: %w", name, err)
		}
		stepPath = p
	}
	return filepath.Join(stepPath, name), nil
}

// readTemplateFile reads a regular file of at most MaxTemplateSize bytes.
func readTemplateFile(name string) (string, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", fmt.Errorf("cannot read %s: %w", name, pathErr(err))
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("cannot read %s: %w", name, pathErr(err))
	}
	if !st.Mode().IsRegular() {
		return "", fmt.Errorf("%s is not a regular file", name)
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxTemplateSize+1))
	if err != nil {
		return "", fmt.Errorf("cannot read %s: %w", name, pathErr(err))
	}
	if len(b) > MaxTemplateSize {
		return "", fmt.Errorf("%s is larger than %d bytes", name, MaxTemplateSize)
	}
	return string(b), nil
}

// pathErr drops the path os errors repeat.
func pathErr(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// usesDefaultData reports whether templateData sets a key the default leaf
// template reads, so that step-ca would render something else than the
// default leaf.
func usesDefaultData(data map[string]any) bool {
	_, sub := data[templates.SubjectKey]
	_, sans := data[templates.SANsKey]
	return sub || sans
}

// Template returns the parsed template.
func (t *X509Template) Template() *templates.X509Template { return t.tmpl }

// ForRequest returns the template with Data(subject, sans, tok).
func (t *X509Template) ForRequest(subject string, sans []string, tok *token.Token) *CertificateTemplate {
	return &CertificateTemplate{Template: t.tmpl, Data: t.Data(subject, sans, tok)}
}

// Data returns new template data for one request, as step-ca builds it:
// .Subject {"commonName": subject}, .SANs from sans, .Token the claims of
// tok's payload, then the members of templateData over them. The authority
// adds .Insecure.CR and .Insecure.User.
func (t *X509Template) Data(subject string, sans []string, tok *token.Token) templates.X509Data {
	d := templates.NewX509Data(subject, sans)
	d.SetToken(TokenPayload(tok))
	for k, v := range t.data {
		// A template may change its data (sprig's set, unset): each request
		// gets its own copy.
		d[k] = deepCopy(v)
	}
	return d
}

// TokenPayload returns the claims of tok's (already verified) payload as a
// JSON object, numbers as float64: .Token in templates. Nil when tok is nil.
func TokenPayload(tok *token.Token) map[string]any {
	if tok == nil {
		return nil
	}
	parts := strings.Split(tok.Raw, ".")
	if len(parts) != 3 {
		return nil
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return nil
	}
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		return nil
	}
	return m
}

// deepCopy copies the maps and slices of a decoded JSON value.
func deepCopy(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, e := range v {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		s := make([]any, len(v))
		for i, e := range v {
			s[i] = deepCopy(e)
		}
		return s
	}
	return v
}
