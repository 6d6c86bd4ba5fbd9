package main

import (
	"crypto"
	"fmt"
	"os"
	"path/filepath"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	gossh "golang.org/x/crypto/ssh"

	"github.com/mayfly-pki/mayfly/authority"
	"github.com/mayfly-pki/mayfly/authority/config"
	"github.com/mayfly-pki/mayfly/internal/steppath"
	"github.com/mayfly-pki/mayfly/templates"
)

// loadSSH loads ca.json's ssh block: the user and host CA keys are read by
// readKey, the loader of the intermediate key, so that a file or a key
// manager URI (ca.json's kms block) works for every CA key.
func loadSSH(cfg *config.Config, readKey func(key string) (crypto.Signer, error)) (*authority.SSHConfig, error) {
	s := cfg.SSH
	if s == nil {
		return nil, nil
	}
	out := &authority.SSHConfig{AddUserPrincipal: s.AddUserPrincipal, AddUserCommand: s.AddUserCommand}
	if s.KRLRefresh != nil {
		if s.KRLRefresh.Duration < time.Second {
			return nil, fmt.Errorf("ssh.krlRefresh: %s is below the minimum of 1s", s.KRLRefresh.Duration)
		}
		out.KRLInterval = s.KRLRefresh.Duration
	}
	var err error
	if s.UserKey != "" {
		if out.UserKey, err = readKey(s.UserKey); err != nil {
			return nil, fmt.Errorf("ssh.userKey: %w", err)
		}
	}
	if s.HostKey != "" {
		if out.HostKey, err = readKey(s.HostKey); err != nil {
			return nil, fmt.Errorf("ssh.hostKey: %w", err)
		}
	}
	for i, k := range s.Keys {
		var jwk jose.JSONWebKey
		if err := jwk.UnmarshalJSON(k.Key); err != nil {
			return nil, fmt.Errorf("ssh.keys[%d].key: %w", i, err)
		}
		pub, err := gossh.NewPublicKey(jwk.Public().Key)
		if err != nil {
			return nil, fmt.Errorf("ssh.keys[%d].key: %w", i, err)
		}
		switch {
		case k.Type == "user" && k.Federated:
			out.UserFederatedKeys = append(out.UserFederatedKeys, pub)
		case k.Type == "user":
			out.UserKeys = append(out.UserKeys, pub)
		case k.Type == "host" && k.Federated:
			out.HostFederatedKeys = append(out.HostFederatedKeys, pub)
		case k.Type == "host":
			out.HostKeys = append(out.HostKeys, pub)
		default:
			return nil, fmt.Errorf("ssh.keys[%d].type: %q is not user or host", i, k.Type)
		}
	}
	if out.Templates, err = loadSSHTemplates(cfg); err != nil {
		return nil, err
	}
	if b := s.Bastion; b != nil {
		out.Bastion = &authority.SSHBastion{Hostname: b.Hostname, User: b.User, Port: b.Port, Command: b.Command, Flags: b.Flags}
	}
	if a := cfg.Authority; a != nil {
		out.DisableGetHosts = a.DisableGetSSHHosts
		if a.Policy != nil && a.Policy.SSH != nil {
			out.Policy = sshPolicy(a.Policy.SSH)
		}
	}
	return out, nil
}

func sshPolicy(p *config.SSHPolicy) *authority.SSHPolicy {
	names := func(n *config.SSHNames) *authority.SSHNames {
		if n == nil {
			return nil
		}
		return &authority.SSHNames{DNSDomains: n.DNSDomains, IPRanges: n.IPRanges, Emails: n.Emails, Principals: n.Principals}
	}
	rules := func(r *config.SSHPolicyRules) *authority.SSHPolicyRules {
		if r == nil {
			return nil
		}
		return &authority.SSHPolicyRules{Allow: names(r.Allow), Deny: names(r.Deny)}
	}
	return &authority.SSHPolicy{User: rules(p.User), Host: rules(p.Host)}
}

// loadSSHTemplates reads ca.json's templates.ssh files (relative paths
// below $STEPPATH, as step-ca). A template that cannot be read or parsed
// is an error naming it.
func loadSSHTemplates(cfg *config.Config) (*authority.SSHTemplates, error) {
	if cfg.Templates == nil || cfg.Templates.SSH == nil {
		return nil, nil
	}
	base, err := steppath.Path()
	if err != nil {
		return nil, err
	}
	load := func(kind string, ts []config.Template) ([]*templates.SSHConfigTemplate, error) {
		var out []*templates.SSHConfigTemplate
		for i, t := range ts {
			name := t.TemplatePath
			if !filepath.IsAbs(name) {
				name = filepath.Join(base, name)
			}
			data, err := os.ReadFile(name)
			if err != nil {
				return nil, fmt.Errorf("templates.ssh.%s[%d]: %w", kind, i, err)
			}
			p, err := templates.ParseSSHConfigTemplate(t.Name, t.Type, t.Path, t.Comment, t.RequiredData, string(data))
			if err != nil {
				return nil, fmt.Errorf("templates.ssh.%s[%d]: %w", kind, i, err)
			}
			out = append(out, p)
		}
		return out, nil
	}
	out := &authority.SSHTemplates{Data: cfg.Templates.Data}
	if out.User, err = load("user", cfg.Templates.SSH.User); err != nil {
		return nil, err
	}
	if out.Host, err = load("host", cfg.Templates.SSH.Host); err != nil {
		return nil, err
	}
	return out, nil
}
