package pki

import (
	"crypto"
	"encoding/json"
	"fmt"
	"path/filepath"

	gossh "golang.org/x/crypto/ssh"

	"github.com/mayfly-pki/mayfly/authority/config"
	"github.com/mayfly-pki/mayfly/internal/keyutil"
	"github.com/mayfly-pki/mayfly/templates"
)

// sshPaths are the files `step ca init --ssh` adds (wire-spec §1.2).
type sshPaths struct {
	UserPub, HostPub, UserKey, HostKey string
	TemplatesDir                       string // templates/ssh
}

func newSSHPaths(l Layout) sshPaths {
	return sshPaths{
		UserPub:      filepath.Join(l.CertsDir, "ssh_user_ca_key.pub"),
		HostPub:      filepath.Join(l.CertsDir, "ssh_host_ca_key.pub"),
		UserKey:      filepath.Join(l.SecretsDir, "ssh_user_ca_key"),
		HostKey:      filepath.Join(l.SecretsDir, "ssh_host_ca_key"),
		TemplatesDir: filepath.Join(l.TemplatesDir, "ssh"),
	}
}

// plannedSSHPaths lists the files of --ssh, for the existence check.
func plannedSSHPaths(l Layout) []plannedFile {
	p := newSSHPaths(l)
	files := []plannedFile{{path: p.UserPub}, {path: p.HostPub}, {path: p.UserKey}, {path: p.HostKey}}
	for _, t := range append(templates.DefaultSSHUserTemplates(), templates.DefaultSSHHostTemplates()...) {
		files = append(files, plannedFile{path: filepath.Join(p.TemplatesDir, t.Name)})
	}
	return files
}

// generateSSH creates the user and host CA keys (the type of the CA keys,
// EC P-256 by default) and the files of --ssh.
func generateSSH(l Layout, o Options, res *Result) ([]plannedFile, error) {
	progress(o.Progress, "Generating user and host SSH certificate signing keys... ")
	p := newSSHPaths(l)
	kty, crv, size := o.keyParams()
	var files []plannedFile
	for _, k := range []struct{ which, pub, key string }{{"user", p.UserPub, p.UserKey}, {"host", p.HostPub, p.HostKey}} {
		key, err := keyutil.Generate(kty, crv, size)
		if err != nil {
			return nil, fmt.Errorf("generating the ssh %s key: %w", k.which, err)
		}
		signer, ok := key.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("generating the ssh %s key: %T is not a signer", k.which, key)
		}
		pub, err := gossh.NewPublicKey(signer.Public())
		if err != nil {
			return nil, fmt.Errorf("ssh %s key: %w", k.which, err)
		}
		keyPEM, err := encodeKey(key, o.Password, "ssh "+k.which)
		if err != nil {
			return nil, err
		}
		files = append(files,
			plannedFile{path: k.pub, data: gossh.MarshalAuthorizedKey(pub), perm: secretMode},
			plannedFile{path: k.key, data: keyPEM, perm: secretMode})
	}
	for _, t := range append(templates.DefaultSSHUserTemplates(), templates.DefaultSSHHostTemplates()...) {
		files = append(files, plannedFile{path: filepath.Join(p.TemplatesDir, t.Name), data: []byte(t.Text), perm: configMode})
	}
	progress(o.Progress, "done!\n")
	res.SSHUserPublicKey, res.SSHUserPrivateKey = p.UserPub, p.UserKey
	res.SSHHostPublicKey, res.SSHHostPrivateKey = p.HostPub, p.HostKey
	res.TemplatesPath = l.TemplatesDir
	return files, nil
}

// addSSHConfig adds to c what --ssh writes in ca.json (wire-spec §1.3):
// the ssh block, enableSSHCA on the provisioners, the SSHPOP provisioner
// and the templates block.
func addSSHConfig(c *config.Config, l Layout) error {
	p := newSSHPaths(l)
	c.SSH = &config.SSH{HostKey: p.HostKey, UserKey: p.UserKey}
	sshpop, err := json.Marshal(struct {
		Type   string         `json:"type"`
		Name   string         `json:"name"`
		Claims map[string]any `json:"claims"`
	}{"SSHPOP", "sshpop", map[string]any{"enableSSHCA": true}})
	if err != nil {
		return err
	}
	c.Authority.Provisioners = append(c.Authority.Provisioners, sshpop)
	tpl := func(ts []templates.SSHTemplate) []config.Template {
		out := make([]config.Template, len(ts))
		for i, t := range ts {
			out[i] = config.Template{Name: t.Name, Type: t.Type, TemplatePath: "templates/ssh/" + t.Name, Path: t.Path, Comment: "#", RequiredData: t.Requires}
		}
		return out
	}
	c.Templates = &config.Templates{SSH: &config.SSHTemplates{User: tpl(templates.DefaultSSHUserTemplates()), Host: tpl(templates.DefaultSSHHostTemplates())}}
	return nil
}
