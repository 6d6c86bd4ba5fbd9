package authority

import (
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/policy"
	"github.com/sirupsen/logrus"
)

// checkPolicy applies authority.policy's X.509 rules to the final
// certificate's common name and SANs (sign, SCEP, renew, rekey). No policy
// costs a nil check. A refused name is step-ca's 403 "The request was
// forbidden by the certificate authority: dns name "x" not allowed"; a name
// the engine cannot parse is, as in step-ca, a 500. The log names the name
// and the rule.
func (a *Authority) checkPolicy(op string, c *x509.Certificate) error {
	if a.policy == nil {
		return nil
	}
	err := a.policy.CheckCertificate(c)
	if err == nil {
		return nil
	}
	var r *policy.Refusal
	if !errors.As(err, &r) {
		return errs.E(errs.Internal, "error creating certificate", err)
	}
	a.log.WithFields(logrus.Fields{
		"operation": op, "policy": "authority.policy.x509", "name-type": r.Type, "name": r.Name, "rule": r.Reason(),
	}).Warn("authority not allowed to sign: name refused by policy")
	if r.Unparsable {
		return errs.E(errs.Internal, "error creating certificate", err)
	}
	return errs.Exact(errs.Forbidden, "The request was forbidden by the certificate authority: "+r.Error(),
		fmt.Errorf("authority not allowed to sign: %w (%s)", r, r.Reason()))
}
