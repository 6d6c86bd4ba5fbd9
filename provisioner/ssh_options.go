package provisioner

import (
	"encoding/json"
	"errors"

	"github.com/mayfly-pki/mayfly/provisioner/token"
	"github.com/mayfly-pki/mayfly/templates"
)

// SSHTemplate is a provisioner's parsed options.ssh (template, templateFile,
// templateData), read like options.x509. Immutable, safe for concurrent use.
type SSHTemplate struct {
	tmpl *templates.SSHCertTemplate
	data map[string]any
}

// ParseSSHTemplate reads options.ssh from a provisioner entry's raw
// "options" member. It returns nil, nil when there is neither a template nor
// template data (the authority builds the default certificate directly);
// with templateData only, step-ca's default template renders it. A relative
// templateFile is relative to stepPath (or $STEPPATH). Errors are
// *OptionError.
func ParseSSHTemplate(options json.RawMessage, stepPath string) (*SSHTemplate, error) {
	if isNull(options) {
		return nil, nil
	}
	var o struct {
		SSH json.RawMessage `json:"ssh"`
	}
	if err := json.Unmarshal(options, &o); err != nil {
		return nil, &OptionError{Path: "options", Err: errors.New("must be a JSON object")}
	}
	if isNull(o.SSH) {
		return nil, nil
	}
	var x struct {
		Template     json.RawMessage `json:"template"`
		TemplateFile json.RawMessage `json:"templateFile"`
		TemplateData json.RawMessage `json:"templateData"`
	}
	if err := json.Unmarshal(o.SSH, &x); err != nil {
		return nil, &OptionError{Path: "options.ssh", Err: errors.New("must be a JSON object")}
	}
	var tmpl, file string
	for _, f := range []struct {
		name string
		raw  json.RawMessage
		dst  *string
	}{{"template", x.Template, &tmpl}, {"templateFile", x.TemplateFile, &file}} {
		if !isNull(f.raw) && json.Unmarshal(f.raw, f.dst) != nil {
			return nil, &OptionError{Path: "options.ssh." + f.name, Err: errors.New("must be a string")}
		}
	}
	var data map[string]any
	if !isNull(x.TemplateData) {
		if err := json.Unmarshal(x.TemplateData, &data); err != nil || data == nil {
			return nil, &OptionError{Path: "options.ssh.templateData", Err: errors.New("must be a JSON object")}
		}
	}
	var text, name, path string
	var err error
	switch {
	case tmpl != "":
		path = "options.ssh.template"
		if text, err = inlineTemplate(tmpl); err != nil {
			return nil, &OptionError{Path: path, Err: err}
		}
	case file != "":
		path = "options.ssh.templateFile"
		if name, err = resolvePath(file, stepPath); err != nil {
			return nil, &OptionError{Path: path, Err: err}
		}
		if text, err = readTemplateFile(name); err != nil {
			return nil, &OptionError{Path: path, Err: err}
		}
	case len(data) > 0:
		text, path = templates.DefaultSSHCertTemplate, "options.ssh.templateData"
	default:
		return nil, nil
	}
	t, err := templates.ParseSSHCert(name, text)
	if err != nil {
		return nil, &OptionError{Path: path, Err: err}
	}
	return &SSHTemplate{tmpl: t, data: data}, nil
}

// Template returns the parsed template.
func (t *SSHTemplate) Template() *templates.SSHCertTemplate { return t.tmpl }

// Data returns the template data of one request as step-ca builds it: the
// certificate's type ("user"/"host"), key ID, principals, extensions and
// critical options, .Token (tok's payload), .Insecure.User (the request's
// templateData), then the members of templateData over them.
func (t *SSHTemplate) Data(certType, keyID string, principals []string, extensions, criticalOptions map[string]string, tok *token.Token, user map[string]any) map[string]any {
	if extensions == nil {
		extensions = map[string]string{}
	}
	if criticalOptions == nil {
		criticalOptions = map[string]string{}
	}
	d := templates.X509Data{
		templates.SSHTypeKey: certType, templates.SSHKeyIDKey: keyID, templates.SSHPrincipalsKey: principals,
		templates.SSHExtensionsKey: extensions, templates.SSHCriticalOptionsKey: criticalOptions,
	}
	d.SetToken(TokenPayload(tok))
	d.SetUserData(user)
	for k, v := range t.data {
		d[k] = deepCopy(v)
	}
	return d
}
