package authority

import (
	"maps"
	"strings"

	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/ssh"
	"github.com/mayfly-pki/mayfly/templates"
)

// SSHTemplates are ca.json's templates block, parsed (nil: none).
type SSHTemplates struct {
	User, Host []*templates.SSHConfigTemplate
	// Data is templates.data, added to the data of every template.
	Data map[string]any
}

// SSHConfigOutput is one rendered template of /ssh/config.
type SSHConfigOutput struct {
	Name, Type, Path, Comment string
	Content                   []byte
}

// SSHConfig renders the user or host templates with the client's data
// (wire-spec §3.4 POST /ssh/config): NotFound without SSH or templates,
// BadRequest naming a missing required key.
func (a *Authority) SSHConfig(certType string, data map[string]string) ([]SSHConfigOutput, error) {
	if !a.SSHEnabled() || a.ssh.cfg.Templates == nil {
		return nil, errs.E(errs.NotFound, "ssh templates are not configured", nil)
	}
	ts := a.ssh.cfg.Templates.User
	if certType == ssh.HostCert {
		ts = a.ssh.cfg.Templates.Host
	}
	keys := templates.SSHKeysData{UserFederatedKeys: a.ssh.cfg.UserFederatedKeys, HostFederatedKeys: a.ssh.cfg.HostFederatedKeys}
	if a.ssh.user != nil {
		keys.UserKey = a.ssh.user.PublicKey()
	}
	if a.ssh.host != nil {
		keys.HostKey = a.ssh.host.PublicKey()
	}
	user := make(map[string]any, len(data))
	for k, v := range data {
		user[k] = v
	}
	vars := maps.Clone(a.ssh.cfg.Templates.Data)
	if vars == nil {
		vars = map[string]any{}
	}
	vars["Step"] = templates.SSHStepData{SSH: keys}
	vars["User"] = user
	out := make([]SSHConfigOutput, 0, len(ts))
	for _, t := range ts {
		for _, r := range t.Requires {
			if data[r] == "" {
				return nil, errs.Errorf(errs.BadRequest, "%s, please use --set <key=value> flag", r)
			}
		}
		b, err := t.Render(vars)
		if err != nil {
			return nil, errs.E(errs.Internal, "error rendering ssh templates", err)
		}
		o := SSHConfigOutput{Name: t.Name, Type: t.Type, Path: t.Path, Comment: t.Comment, Content: b}
		// Old clients know no prepend-line type (wire-spec §3.4).
		if data["StepSSHTemplateVersion"] == "" && t.Type == "prepend-line" {
			o.Type, o.Path = "file", strings.TrimPrefix(o.Path, "${STEPPATH}/")
		}
		out = append(out, o)
	}
	return out, nil
}
