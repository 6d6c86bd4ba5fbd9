package provisioner

import "github.com/mayfly-pki/mayfly/policy"

// Policy is a provisioner's "policy" in its ca.json entry: the same shape as
// authority.policy (wire-spec §7.3). The authority enforces the X.509 part
// after its own on every X.509 path; the SSH part is parsed here and
// enforced by the SSH service.
type Policy struct {
	X509 *policy.X509Options `json:"x509,omitempty"`
	SSH  *SSHPolicy          `json:"ssh,omitempty"`
}

// SSHPolicy holds the SSH user and host certificate rules.
type SSHPolicy struct {
	User *SSHPolicyRules `json:"user,omitempty"`
	Host *SSHPolicyRules `json:"host,omitempty"`
}

// SSHPolicyRules is the allow/deny pair for one SSH certificate type.
type SSHPolicyRules struct {
	Allow *SSHNames `json:"allow,omitempty"`
	Deny  *SSHNames `json:"deny,omitempty"`
}

// SSHNames are the name rules of one SSH allow or deny list.
type SSHNames struct {
	DNSDomains []string `json:"dns,omitempty"`
	IPRanges   []string `json:"ip,omitempty"`
	Emails     []string `json:"email,omitempty"`
	Principals []string `json:"principal,omitempty"`
}
