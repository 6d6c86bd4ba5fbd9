package authority

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"

	"github.com/sirupsen/logrus"
	gossh "golang.org/x/crypto/ssh"

	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/policy"
)

// SSHPolicy is authority.policy.ssh: allow/deny rules for user and host
// certificates (wire-spec §7.3).
type SSHPolicy struct {
	User, Host *SSHPolicyRules
}

// SSHPolicyRules is one certificate type's allow and deny lists.
type SSHPolicyRules struct {
	Allow, Deny *SSHNames
}

// SSHNames are SSH name rules: DNS domains, IP ranges and emails as the
// X.509 policy reads them, and principals matched exactly ("*" matches
// any).
type SSHNames struct {
	DNSDomains, IPRanges, Emails, Principals []string
}

// sshPolicy is the compiled authority.policy.ssh.
type sshPolicy struct {
	user, host *sshRules
}

// sshRules is one certificate type's compiled rules. A principal is sorted
// into a name type as step-ca does: for a host certificate an IP address
// is an "ip", a DNS name a "dns" name, anything else a "principal"; for a
// user certificate a name with '@' is an "email", anything else a
// "principal". A name a deny rule matches is refused; when any allow rule
// exists, a name must match an allow rule of its own type.
type sshRules struct {
	engine          *policy.Engine // dns, ip, email rules
	allowPrincipals []string
	denyPrincipals  []string
	anyAllow        bool
	allowByType     map[string]bool
}

func newSSHPolicy(p *SSHPolicy) (*sshPolicy, error) {
	return newSSHPolicyAt("authority.policy.ssh", p)
}

// newSSHPolicyAt compiles p; errors name the rule under prefix (its JSON
// path).
func newSSHPolicyAt(prefix string, p *SSHPolicy) (*sshPolicy, error) {
	if p == nil {
		return nil, nil
	}
	var out sshPolicy
	var err error
	if out.user, err = compileSSHRules(prefix+".user", p.User); err != nil {
		return nil, err
	}
	if out.host, err = compileSSHRules(prefix+".host", p.Host); err != nil {
		return nil, err
	}
	if out.user == nil && out.host == nil {
		return nil, nil
	}
	return &out, nil
}

func compileSSHRules(path string, r *SSHPolicyRules) (*sshRules, error) {
	if r == nil || (r.Allow == nil && r.Deny == nil) {
		return nil, nil
	}
	names := func(n *SSHNames) *policy.Names {
		if n == nil {
			return nil
		}
		return &policy.Names{DNSDomains: n.DNSDomains, IPRanges: n.IPRanges, Emails: n.Emails}
	}
	eng, err := policy.New(&policy.X509Options{Allow: names(r.Allow), Deny: names(r.Deny)})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	s := &sshRules{engine: eng, allowByType: map[string]bool{}}
	if a := r.Allow; a != nil {
		s.allowPrincipals = a.Principals
		s.allowByType[policy.DNS] = len(a.DNSDomains) > 0
		s.allowByType[policy.IP] = len(a.IPRanges) > 0
		s.allowByType[policy.Email] = len(a.Emails) > 0
		s.allowByType["principal"] = len(a.Principals) > 0
		s.anyAllow = s.allowByType[policy.DNS] || s.allowByType[policy.IP] || s.allowByType[policy.Email] || s.allowByType["principal"]
	}
	if r.Deny != nil {
		s.denyPrincipals = r.Deny.Principals
	}
	return s, nil
}

// check returns a *policy.Refusal for the first principal not allowed.
func (s *sshRules) check(host bool, principals []string) error {
	for _, p := range principals {
		typ := "principal"
		switch {
		case host && net.ParseIP(p) != nil:
			typ = policy.IP
		case host && looksLikeDNS(p):
			typ = policy.DNS
		case !host && strings.Contains(p, "@"):
			typ = policy.Email
		}
		if s.anyAllow && !s.allowByType[typ] {
			return &policy.Refusal{Type: typ, Name: p}
		}
		var err error
		switch typ {
		case policy.IP:
			err = s.engine.CheckIP(net.ParseIP(p))
		case policy.DNS:
			err = s.engine.CheckDNS(p)
		case policy.Email:
			err = s.engine.CheckEmail(p)
		default:
			if slices.Contains(s.denyPrincipals, p) || slices.Contains(s.denyPrincipals, "*") {
				return &policy.Refusal{Type: typ, Name: p, Rule: p}
			}
			if s.anyAllow && !slices.Contains(s.allowPrincipals, p) && !slices.Contains(s.allowPrincipals, "*") {
				return &policy.Refusal{Type: typ, Name: p}
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// looksLikeDNS reports whether s is a DNS name: dot-separated labels of
// letters, digits, '-' and '_', with at least one dot.
func looksLikeDNS(s string) bool {
	if !strings.Contains(s, ".") || len(s) > 253 {
		return false
	}
	for _, l := range strings.Split(strings.TrimSuffix(s, "."), ".") {
		if l == "" || len(l) > 63 {
			return false
		}
		for _, r := range l {
			if !(r == '-' || r == '_' || r == '*' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
				return false
			}
		}
	}
	return true
}

// checkSSHPolicy applies authority.policy.ssh, then the SSH policy of the
// provisioner prov (its entry's "policy.ssh"), if any, to cert's
// principals: a refused name is a 403 naming it, and the log names the
// policy and the rule.
func (a *Authority) checkSSHPolicy(prov string, cert *gossh.Certificate) error {
	if a.ssh != nil {
		if err := a.checkOneSSHPolicy("authority.policy.ssh", a.ssh.policy, cert); err != nil {
			return err
		}
	}
	return a.checkOneSSHPolicy(fmt.Sprintf("provisioner %q policy.ssh", prov), a.provSSHPolicy[prov], cert)
}

func (a *Authority) checkOneSSHPolicy(which string, p *sshPolicy, cert *gossh.Certificate) error {
	if p == nil {
		return nil
	}
	host := cert.CertType == gossh.HostCert
	rules, kind := p.user, "user"
	if host {
		rules, kind = p.host, "host"
	}
	if rules == nil {
		return nil
	}
	err := rules.check(host, cert.ValidPrincipals)
	if err == nil {
		return nil
	}
	var r *policy.Refusal
	if !errors.As(err, &r) {
		return errs.E(errs.Internal, "error creating ssh certificate", err)
	}
	a.log.WithFields(logrus.Fields{
		"operation": "ssh sign", "policy": which + "." + kind, "name-type": r.Type, "name": r.Name, "rule": r.Reason(),
	}).Warn("authority not allowed to sign: name refused by policy")
	if r.Unparsable {
		return errs.E(errs.Internal, "error creating ssh certificate", err)
	}
	return errs.Exact(errs.Forbidden, "The request was forbidden by the certificate authority: "+r.Error(),
		fmt.Errorf("authority not allowed to sign ssh certificate: %w (%s)", r, r.Reason()))
}
