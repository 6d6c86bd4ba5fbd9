package authority

import (
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"

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

// addProvisionerPolicy compiles the X.509 policy of the provisioner entry
// raw, if it has one. An error disables the provisioner (its reason).
func (a *Authority) addProvisionerPolicy(info provisioner.Info, raw json.RawMessage) error {
	var b provisioner.Base
	if err := json.Unmarshal(raw, &b); err != nil {
		return fmt.Errorf("invalid provisioner: %w", err)
	}
	if err := a.addProvisionerLint(info, &b); err != nil {
		return err
	}
	if b.Policy == nil || b.Policy.X509 == nil {
		return nil
	}
	e, err := policy.New(b.Policy.X509)
	if err != nil {
		var re *policy.RuleError
		if errors.As(err, &re) {
			return fmt.Errorf("%s provisioner %q: policy.x509.%w", info.Type, info.Name, err)
		}
		return fmt.Errorf("%s provisioner %q: policy.x509: %w", info.Type, info.Name, err)
	}
	if a.provPolicy == nil {
		a.provPolicy = map[string]*policy.Engine{}
	}
	a.provPolicy[info.Name] = e
	return nil
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
