package authority

import (
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"

	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/policy"
	"github.com/mayfly-pki/mayfly/provisioner"
	"github.com/sirupsen/logrus"
)

// checkPolicy applies authority.policy's X.509 rules to the final
// certificate's common name and SANs (sign, SCEP, renew, rekey). No policy
// costs a nil check. A refused name is step-ca's 403 "The request was
// forbidden by the certificate authority: dns name "x" not allowed"; a name
// the engine cannot parse is, as in step-ca, a 500. The log names the name
// and the rule.
//
// The provisioner's own policy (its ca.json entry's "policy"), if any, is
// applied after the authority's, with the same messages; the log names
// which policy refused.
func (a *Authority) checkPolicy(op string, prov string, c *x509.Certificate) error {
	if err := a.checkOnePolicy(op, "authority.policy.x509", a.policy, c); err != nil {
		return err
	}
	if e := a.provPolicy[prov]; e != nil {
		return a.checkOnePolicy(op, fmt.Sprintf("provisioner %q policy.x509", prov), e, c)
	}
	return nil
}

// addProvisionerPolicy compiles the X.509 and SSH policies of the
// provisioner entry raw, if it has them. An error disables the provisioner
// (its reason).
func (a *Authority) addProvisionerPolicy(info provisioner.Info, raw json.RawMessage) error {
	var b provisioner.Base
	if err := json.Unmarshal(raw, &b); err != nil {
		return fmt.Errorf("invalid provisioner: %w", err)
	}
	if err := a.addProvisionerLint(info, &b); err != nil {
		return err
	}
	if b.Policy == nil {
		return nil
	}
	e, s, err := compileProvisionerPolicy(b.Policy)
	if err != nil {
		return fmt.Errorf("%s provisioner %q: %w", info.Type, info.Name, err)
	}
	if e != nil {
		if a.provPolicy == nil {
			a.provPolicy = map[string]*policy.Engine{}
		}
		a.provPolicy[info.Name] = e
	}
	if s != nil {
		if a.provSSHPolicy == nil {
			a.provSSHPolicy = map[string]*sshPolicy{}
		}
		a.provSSHPolicy[info.Name] = s
	}
	return nil
}

// compileProvisionerPolicy compiles a provisioner's policy; an error names
// the bad rule by its JSON path under "policy".
func compileProvisionerPolicy(p *provisioner.Policy) (*policy.Engine, *sshPolicy, error) {
	var e *policy.Engine
	if p.X509 != nil {
		var err error
		if e, err = policy.New(p.X509); err != nil {
			var re *policy.RuleError
			if errors.As(err, &re) {
				return nil, nil, fmt.Errorf("policy.x509.%w", err)
			}
			return nil, nil, fmt.Errorf("policy.x509: %w", err)
		}
	}
	if p.SSH == nil {
		return e, nil, nil
	}
	rules := func(r *provisioner.SSHPolicyRules) *SSHPolicyRules {
		if r == nil {
			return nil
		}
		names := func(n *provisioner.SSHNames) *SSHNames {
			if n == nil {
				return nil
			}
			return &SSHNames{DNSDomains: n.DNSDomains, IPRanges: n.IPRanges, Emails: n.Emails, Principals: n.Principals}
		}
		return &SSHPolicyRules{Allow: names(r.Allow), Deny: names(r.Deny)}
	}
	s, err := newSSHPolicyAt("policy.ssh", &SSHPolicy{User: rules(p.SSH.User), Host: rules(p.SSH.Host)})
	if err != nil {
		return nil, nil, err
	}
	return e, s, nil
}

// ValidateProvisionerPolicy compiles raw, a provisioner's "policy" (the
// shape of authority.policy), as the authority would: the error names the
// bad rule and value.
func ValidateProvisionerPolicy(raw json.RawMessage) error {
	var p provisioner.Policy
	if err := json.Unmarshal(raw, &p); err != nil {
		return fmt.Errorf("policy: %w", err)
	}
	_, _, err := compileProvisionerPolicy(&p)
	return err
}

func (a *Authority) checkOnePolicy(op, which string, e *policy.Engine, c *x509.Certificate) error {
	if e == nil {
		return nil
	}
	err := e.CheckCertificate(c)
	if err == nil {
		return nil
	}
	var r *policy.Refusal
	if !errors.As(err, &r) {
		return errs.E(errs.Internal, "error creating certificate", err)
	}
	a.log.WithFields(logrus.Fields{
		"operation": op, "policy": which, "name-type": r.Type, "name": r.Name, "rule": r.Reason(),
	}).Warn("authority not allowed to sign: name refused by policy")
	if r.Unparsable {
		return errs.E(errs.Internal, "error creating certificate", err)
	}
	return errs.Exact(errs.Forbidden, "The request was forbidden by the certificate authority: "+r.Error(),
		fmt.Errorf("authority not allowed to sign: %w (%s)", r, r.Reason()))
}

// CheckEABPolicy applies the X.509 part of raw, the policy of the EAB key
// keyID an ACME account was bound with, to an order's names (at
// new-order, after the authority's and the provisioner's): a refused name
// is the same 403 as theirs, and the log names the key's policy. A nil raw
// allows all.
func (a *Authority) CheckEABPolicy(keyID string, raw json.RawMessage, dnsNames []string, ips []net.IP) error {
	if len(raw) == 0 {
		return nil
	}
	var p provisioner.Policy
	if err := json.Unmarshal(raw, &p); err != nil {
		return errs.E(errs.Internal, "error reading the EAB key policy", err)
	}
	e, _, err := compileProvisionerPolicy(&p)
	if err != nil {
		return errs.E(errs.Internal, "error compiling the EAB key policy", err)
	}
	return a.checkOnePolicy("acme new-order", fmt.Sprintf("EAB key %q policy.x509", keyID), e, &x509.Certificate{DNSNames: dnsNames, IPAddresses: ips})
}
