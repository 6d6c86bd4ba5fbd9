package config

import "github.com/mayfly-pki/mayfly/policy"

// X509Options returns the X.509 part of authority.policy for the policy
// engine (nil when there is none). The SSH part is parsed and validated
// but not enforced yet.
func (p *Policy) X509Options() *policy.X509Options {
	if p == nil || p.X509 == nil {
		return nil
	}
	names := func(n *X509Names) *policy.Names {
		if n == nil {
			return nil
		}
		return &policy.Names{CommonNames: n.CommonNames, DNSDomains: n.DNSDomains, IPRanges: n.IPRanges, Emails: n.Emails, URIDomains: n.URIDomains}
	}
	return &policy.X509Options{Allow: names(p.X509.Allow), Deny: names(p.X509.Deny), AllowWildcardNames: p.X509.AllowWildcardNames}
}
