package authority

import (
	"encoding/json"
	"errors"
	"fmt"

	gossh "golang.org/x/crypto/ssh"

	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/provisioner"
	"github.com/mayfly-pki/mayfly/ssh"
	"github.com/mayfly-pki/mayfly/templates"
)

// addProvisionerSSHTemplate parses the provisioner's options.ssh template
// (provisioner.ParseSSHTemplate), kept by provisioner name.
func (a *Authority) addProvisionerSSHTemplate(info provisioner.Info, raw json.RawMessage) error {
	var e struct {
		Options json.RawMessage `json:"options"`
	}
	if err := json.Unmarshal(raw, &e); err != nil {
		return fmt.Errorf("invalid provisioner: %w", err)
	}
	t, err := provisioner.ParseSSHTemplate(e.Options, "")
	if err != nil || t == nil {
		return err
	}
	if a.sshTemplates == nil {
		a.sshTemplates = map[string]*provisioner.SSHTemplate{}
	}
	a.sshTemplates[info.Name] = t
	return nil
}

// applySSHTemplate renders the provisioner's SSH template with the
// certificate built so far and sets what it decides: type, key ID,
// principals, extensions and critical options (step-ca applies the
// template before its validators, which check the result).
func applySSHTemplate(t *provisioner.SSHTemplate, req *SSHSignRequest, cert *gossh.Certificate) error {
	var user map[string]any
	if len(req.TemplateData) > 0 && json.Unmarshal(req.TemplateData, &user) != nil {
		return errs.E(errs.BadRequest, "invalid templateData: must be a JSON object", nil)
	}
	data := t.Data(ssh.CertTypeName(cert.CertType), cert.KeyId, cert.ValidPrincipals, cert.Extensions, cert.CriticalOptions, req.tok, user)
	out, err := t.Template().Certificate(data)
	if err != nil {
		var fail *templates.FailError
		if errors.As(err, &fail) {
			return errs.E(errs.BadRequest, fail.Message, nil)
		}
		return errs.E(errs.Internal, "error applying ssh certificate template", err)
	}
	switch out.Type {
	case "user":
		cert.CertType = gossh.UserCert
	case "host":
		cert.CertType = gossh.HostCert
	}
	cert.KeyId, cert.ValidPrincipals = out.KeyID, out.Principals
	cert.Extensions, cert.CriticalOptions = out.Extensions, out.CriticalOptions
	if cert.KeyId == "" {
		return errs.Errorf(errs.Forbidden, "ssh certificate key id cannot be empty")
	}
	if len(cert.ValidPrincipals) == 0 {
		return errs.Errorf(errs.Forbidden, "ssh certificate valid principals cannot be empty")
	}
	return nil
}
