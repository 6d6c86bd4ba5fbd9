package webhook

import (
	"context"
	"crypto/x509"

	"github.com/mayfly-pki/mayfly/internal/errs"
)

// HasSCEPChallenge says whether s has SCEPCHALLENGE webhooks: a SCEP
// provisioner with them validates challenges with them instead of its
// static challenge, as step-ca.
func (s *Set) HasSCEPChallenge() bool {
	if s == nil {
		return false
	}
	for _, h := range s.hooks {
		if h.kind == KindSCEPChallenge {
			return true
		}
	}
	return false
}

// ValidateSCEPChallenge asks the SCEPCHALLENGE webhooks, in order, whether
// challenge is valid for csr, as step-ca: the first that allows it ends the
// check; allowed is false when none does. An error is a webhook that could
// not be called or answered badly.
func (s *Set) ValidateSCEPChallenge(ctx context.Context, req Request, csr *x509.CertificateRequest, challenge, transactionID string) (allowed bool, err error) {
	if s == nil {
		return false, nil
	}
	st := &requestState{set: s, req: req}
	for _, h := range s.hooks {
		if h.kind != KindSCEPChallenge {
			continue
		}
		c := &call{hook: h, st: st}
		body := st.body()
		cr, err := newCertificateRequest(csr)
		if err != nil {
			return false, errs.E(errs.BadRequest, "invalid csr", err)
		}
		body.X509CertificateRequest = cr
		body.SCEPChallenge, body.SCEPTransactionID = challenge, transactionID
		resp, err := c.do(ctx, body)
		if err != nil {
			return false, err
		}
		if resp.Allow {
			return true, nil
		}
	}
	return false, nil
}
