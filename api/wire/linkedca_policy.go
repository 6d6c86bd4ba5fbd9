package wire

import (
	"encoding/json"
	"fmt"
)

// Policy is linkedca.Policy in protojson: the authority policy of the
// admin API (/admin/policy). PolicyToConfig and PolicyFromConfig convert
// it to and from ca.json's authority.policy.
type Policy struct {
	X509 *LinkedX509Policy `json:"x509,omitempty"`
	SSH  *LinkedSSHPolicy  `json:"ssh,omitempty"`
}

// LinkedX509Policy is linkedca.X509Policy.
type LinkedX509Policy struct {
	Allow              *LinkedX509Names `json:"allow,omitempty"`
	Deny               *LinkedX509Names `json:"deny,omitempty"`
	AllowWildcardNames bool             `json:"allowWildcardNames,omitempty"`
}

// LinkedX509Names is linkedca.X509Names.
type LinkedX509Names struct {
	DNS         []string `json:"dns,omitempty"`
	IPs         []string `json:"ips,omitempty"`
	Emails      []string `json:"emails,omitempty"`
	URIs        []string `json:"uris,omitempty"`
	CommonNames []string `json:"commonNames,omitempty"`
}

// LinkedSSHPolicy is linkedca.SSHPolicy.
type LinkedSSHPolicy struct {
	Host *LinkedSSHRules `json:"host,omitempty"`
	User *LinkedSSHRules `json:"user,omitempty"`
}

// LinkedSSHRules is linkedca.SSHHostPolicy or SSHUserPolicy.
type LinkedSSHRules struct {
	Allow *LinkedSSHNames `json:"allow,omitempty"`
	Deny  *LinkedSSHNames `json:"deny,omitempty"`
}

// LinkedSSHNames is linkedca.SSHHostNames or SSHUserNames.
type LinkedSSHNames struct {
	DNS        []string `json:"dns,omitempty"`
	IPs        []string `json:"ips,omitempty"`
	Emails     []string `json:"emails,omitempty"`
	Principals []string `json:"principals,omitempty"`
}

// caJSONPolicy is ca.json's authority.policy (authority/config.Policy).
type caJSONPolicy struct {
	X509 *struct {
		Allow              *caJSONX509Names `json:"allow,omitempty"`
		Deny               *caJSONX509Names `json:"deny,omitempty"`
		AllowWildcardNames bool             `json:"allowWildcardNames,omitempty"`
	} `json:"x509,omitempty"`
	SSH *struct {
		User *caJSONSSHRules `json:"user,omitempty"`
		Host *caJSONSSHRules `json:"host,omitempty"`
	} `json:"ssh,omitempty"`
}

type caJSONX509Names struct {
	CommonNames []string `json:"cn,omitempty"`
	DNSDomains  []string `json:"dns,omitempty"`
	IPRanges    []string `json:"ip,omitempty"`
	Emails      []string `json:"email,omitempty"`
	URIDomains  []string `json:"uri,omitempty"`
}

type caJSONSSHRules struct {
	Allow *caJSONSSHNames `json:"allow,omitempty"`
	Deny  *caJSONSSHNames `json:"deny,omitempty"`
}

type caJSONSSHNames struct {
	DNSDomains []string `json:"dns,omitempty"`
	IPRanges   []string `json:"ip,omitempty"`
	Emails     []string `json:"email,omitempty"`
	Principals []string `json:"principal,omitempty"`
}

// PolicyToConfig returns p as ca.json's authority.policy. A policy with no
// rule at all is an error, as step-ca refuses an empty policy.
func PolicyToConfig(p *Policy) (json.RawMessage, error) {
	var out caJSONPolicy
	x509Names := func(n *LinkedX509Names) *caJSONX509Names {
		if n == nil {
			return nil
		}
		return &caJSONX509Names{CommonNames: n.CommonNames, DNSDomains: n.DNS, IPRanges: n.IPs, Emails: n.Emails, URIDomains: n.URIs}
	}
	sshRules := func(r *LinkedSSHRules) *caJSONSSHRules {
		if r == nil {
			return nil
		}
		names := func(n *LinkedSSHNames) *caJSONSSHNames {
			if n == nil {
				return nil
			}
			return &caJSONSSHNames{DNSDomains: n.DNS, IPRanges: n.IPs, Emails: n.Emails, Principals: n.Principals}
		}
		return &caJSONSSHRules{Allow: names(r.Allow), Deny: names(r.Deny)}
	}
	if p.X509 != nil {
		out.X509 = &struct {
			Allow              *caJSONX509Names `json:"allow,omitempty"`
			Deny               *caJSONX509Names `json:"deny,omitempty"`
			AllowWildcardNames bool             `json:"allowWildcardNames,omitempty"`
		}{Allow: x509Names(p.X509.Allow), Deny: x509Names(p.X509.Deny), AllowWildcardNames: p.X509.AllowWildcardNames}
	}
	if p.SSH != nil {
		out.SSH = &struct {
			User *caJSONSSHRules `json:"user,omitempty"`
			Host *caJSONSSHRules `json:"host,omitempty"`
		}{User: sshRules(p.SSH.User), Host: sshRules(p.SSH.Host)}
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, err
	}
	if string(b) == "{}" {
		return nil, fmt.Errorf("policy has no rules")
	}
	return b, nil
}

// PolicyFromConfig returns the linkedca form of ca.json's authority.policy.
func PolicyFromConfig(raw json.RawMessage) (*Policy, error) {
	var in caJSONPolicy
	if err := json.Unmarshal(raw, &in); err != nil {
		return nil, err
	}
	out := &Policy{}
	x509Names := func(n *caJSONX509Names) *LinkedX509Names {
		if n == nil {
			return nil
		}
		return &LinkedX509Names{DNS: n.DNSDomains, IPs: n.IPRanges, Emails: n.Emails, URIs: n.URIDomains, CommonNames: n.CommonNames}
	}
	sshRules := func(r *caJSONSSHRules) *LinkedSSHRules {
		if r == nil {
			return nil
		}
		names := func(n *caJSONSSHNames) *LinkedSSHNames {
			if n == nil {
				return nil
			}
			return &LinkedSSHNames{DNS: n.DNSDomains, IPs: n.IPRanges, Emails: n.Emails, Principals: n.Principals}
		}
		return &LinkedSSHRules{Allow: names(r.Allow), Deny: names(r.Deny)}
	}
	if in.X509 != nil {
		out.X509 = &LinkedX509Policy{Allow: x509Names(in.X509.Allow), Deny: x509Names(in.X509.Deny), AllowWildcardNames: in.X509.AllowWildcardNames}
	}
	if in.SSH != nil {
		out.SSH = &LinkedSSHPolicy{User: sshRules(in.SSH.User), Host: sshRules(in.SSH.Host)}
	}
	return out, nil
}
