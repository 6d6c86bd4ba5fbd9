package config

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"errors"
	"fmt"
	"net"
	"strings"
	"unicode"

	"github.com/go-jose/go-jose/v4"
	"github.com/mayfly-pki/mayfly/policy"
)

func validateSSH(k *checker, s *SSH) {
	if s == nil {
		return
	}
	for i, key := range s.Keys {
		path := fmt.Sprintf("ssh.keys[%d]", i)
		switch key.Type {
		case "user", "host":
		case "":
			k.add(path+".type", "required (user or host)")
		default:
			k.add(path+".type", "unknown key type %q (want user or host)", key.Type)
		}
		if len(key.Key) == 0 {
			k.add(path+".key", "required (a public JWK)")
			continue
		}
		var jwk jose.JSONWebKey
		if err := jwk.UnmarshalJSON(key.Key); err != nil {
			// go-jose messages describe the structure, not key material.
			k.add(path+".key", "invalid JWK: %s", err.Error())
			continue
		}
		if !jwk.IsPublic() {
			k.add(path+".key", "must be a public key")
			continue
		}
		switch jwk.Key.(type) {
		case *ecdsa.PublicKey, *rsa.PublicKey, ed25519.PublicKey:
		default:
			k.add(path+".key", "unsupported key type %T for SSH", jwk.Key)
		}
	}
	if s.Bastion != nil && s.Bastion.Hostname == "" {
		k.add("ssh.bastion.hostname", "required")
	}
}

func validateTemplates(k *checker, t *Templates) {
	if t == nil {
		return
	}
	if t.SSH != nil {
		for i := range t.SSH.User {
			validateTemplate(k, fmt.Sprintf("templates.ssh.user[%d]", i), &t.SSH.User[i])
		}
		for i := range t.SSH.Host {
			validateTemplate(k, fmt.Sprintf("templates.ssh.host[%d]", i), &t.SSH.Host[i])
		}
	}
	for _, reserved := range []string{"Step", "User"} {
		if _, ok := t.Data[reserved]; ok {
			k.add("templates.data."+reserved, "%q is reserved and cannot be set", reserved)
		}
	}
}

func validateTemplate(k *checker, path string, t *Template) {
	if t.Name == "" {
		k.add(path+".name", "required")
	}
	switch t.Type {
	case "snippet", "file", "prepend-line":
		if t.TemplatePath == "" {
			k.add(path+".template", "required")
		}
	case "directory":
		if t.TemplatePath != "" {
			k.add(path+".template", "must be empty for a directory template")
		}
	default:
		k.add(path+".type", "unknown template type %q (want snippet, prepend-line, file or directory)", t.Type)
	}
	if t.Path == "" {
		k.add(path+".path", "required")
	}
}

func validatePolicy(k *checker, base string, p *Policy) {
	if p == nil {
		return
	}
	if p.X509 != nil {
		n := len(k.problems)
		validateX509Names(k, base+".x509.allow", p.X509.Allow)
		validateX509Names(k, base+".x509.deny", p.X509.Deny)
		// The engine compiles what the checks above passed: anything it
		// still refuses would stop the CA at start, so it is reported here.
		if len(k.problems) == n {
			if _, err := policy.New(p.X509Options()); err != nil {
				var re *policy.RuleError
				if errors.As(err, &re) {
					k.add(base+".x509."+re.Path, "%s", re.Msg)
				} else {
					k.add(base+".x509", "%v", err)
				}
			}
		}
	}
	if p.SSH != nil {
		for _, r := range []struct {
			path  string
			rules *SSHPolicyRules
		}{{base + ".ssh.user", p.SSH.User}, {base + ".ssh.host", p.SSH.Host}} {
			if r.rules == nil {
				continue
			}
			validateSSHNames(k, r.path+".allow", r.rules.Allow)
			validateSSHNames(k, r.path+".deny", r.rules.Deny)
		}
	}
}

func validateX509Names(k *checker, path string, n *X509Names) {
	if n == nil {
		return
	}
	eachRule(k, path+".cn", n.CommonNames, checkNonEmpty)
	eachRule(k, path+".dns", n.DNSDomains, checkDomainRule)
	eachRule(k, path+".ip", n.IPRanges, checkIPRule)
	eachRule(k, path+".email", n.Emails, checkEmailRule)
	eachRule(k, path+".uri", n.URIDomains, checkURIRule)
}

func validateSSHNames(k *checker, path string, n *SSHNames) {
	if n == nil {
		return
	}
	eachRule(k, path+".dns", n.DNSDomains, checkDomainRule)
	eachRule(k, path+".ip", n.IPRanges, checkIPRule)
	eachRule(k, path+".email", n.Emails, checkEmailRule)
	eachRule(k, path+".principal", n.Principals, checkNonEmpty)
}

// eachRule runs check on every rule; check returns "" when the rule is fine,
// else a message.
func eachRule(k *checker, path string, rules []string, check func(string) string) {
	for i, r := range rules {
		if msg := check(r); msg != "" {
			k.add(fmt.Sprintf("%s[%d]", path, i), "%s", msg)
		}
	}
}

func checkNonEmpty(s string) string {
	if strings.TrimSpace(s) == "" {
		return "must not be empty"
	}
	return ""
}

// checkDomainRule accepts "example.com", "*.example.com" and ".example.com".
func checkDomainRule(s string) string {
	if s == "" {
		return "must not be empty"
	}
	d := strings.TrimPrefix(s, "*")
	if strings.Contains(d, "*") {
		return fmt.Sprintf("%q: a wildcard is only allowed as the first label (\"*.example.com\")", s)
	}
	d = strings.TrimPrefix(d, ".")
	if !validHostname(d) {
		return fmt.Sprintf("%q is not a valid domain", s)
	}
	return ""
}

// checkIPRule accepts an IP address or a CIDR range.
func checkIPRule(s string) string {
	if net.ParseIP(s) != nil {
		return ""
	}
	if _, _, err := net.ParseCIDR(s); err == nil {
		return ""
	}
	return fmt.Sprintf("%q is neither an IP address nor a CIDR range", s)
}

// checkEmailRule accepts "user@example.com", "@example.com" and
// "example.com" (a domain, optionally with a leading dot).
func checkEmailRule(s string) string {
	if s == "" {
		return "must not be empty"
	}
	if strings.ContainsAny(s, "* \t\r\n") {
		return fmt.Sprintf("%q: wildcards and spaces are not allowed in email rules", s)
	}
	_, domain, hasAt := strings.Cut(s, "@")
	if !hasAt {
		domain = s
	} else if strings.Contains(domain, "@") {
		return fmt.Sprintf("%q has more than one @", s)
	}
	if !validHostname(strings.TrimPrefix(domain, ".")) {
		return fmt.Sprintf("%q has an invalid domain", s)
	}
	return ""
}

// checkURIRule accepts a domain rule; URI rules match the host part only.
func checkURIRule(s string) string {
	if strings.Contains(s, "://") {
		return fmt.Sprintf("%q: uri rules name a domain (\"*.example.com\"), not a URL", s)
	}
	return checkDomainRule(s)
}

// validHostname accepts DNS names leniently: 1-253 characters, labels of
// 1-63 letters (any script), digits, '-' or '_' not starting or ending with
// '-', an optional leading "*." wildcard and an optional trailing dot.
func validHostname(s string) bool {
	s = strings.TrimSuffix(strings.TrimPrefix(s, "*."), ".")
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)) {
				return false
			}
		}
	}
	return true
}
