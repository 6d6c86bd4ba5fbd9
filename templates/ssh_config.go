package templates

import (
	"bytes"
	"fmt"
	"text/template"

	gossh "golang.org/x/crypto/ssh"
)

// SSHConfigTemplate is a parsed `step ssh config` template of ca.json's
// templates.ssh block.
type SSHConfigTemplate struct {
	Name     string
	Type     string
	Path     string
	Comment  string
	Requires []string
	tmpl     *template.Template
}

// ParseSSHConfigTemplate parses text; name names it in errors.
func ParseSSHConfigTemplate(name, typ, path, comment string, requires []string, text string) (*SSHConfigTemplate, error) {
	t, err := template.New(name).Funcs(FuncMap()).Parse(text)
	if err != nil {
		return nil, fmt.Errorf("template %s: %w", name, err)
	}
	if comment == "" {
		comment = "#"
	}
	return &SSHConfigTemplate{Name: name, Type: typ, Path: path, Comment: comment, Requires: requires, tmpl: t}, nil
}

// SSHStepData is .Step of the ssh config templates (wire-spec §1.7).
type SSHStepData struct {
	SSH SSHKeysData
}

// SSHKeysData is .Step.SSH: the CA keys (nil when absent).
type SSHKeysData struct {
	UserKey, HostKey                     gossh.PublicKey
	UserFederatedKeys, HostFederatedKeys []gossh.PublicKey
}

// Render executes the template with data ({"Step": SSHStepData, "User":
// the request's data, and ca.json's templates.data keys}).
func (t *SSHConfigTemplate) Render(data map[string]any) ([]byte, error) {
	var b bytes.Buffer
	if err := t.tmpl.Execute(&b, data); err != nil {
		return nil, fmt.Errorf("template %s: %w", t.Name, err)
	}
	return b.Bytes(), nil
}
