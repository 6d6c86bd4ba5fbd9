package authority

import (
	"context"
	"crypto/x509"
	"net"
	"net/url"

	"github.com/mayfly-pki/mayfly/internal/audit"
	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/internal/meter"
	"github.com/mayfly-pki/mayfly/provisioner"
)

// The authority reports every decision it takes (sign, renew, rekey,
// revoke) twice: a count to the meter (Options.Meter: by operation,
// provisioner and result) and a record to the audit log (Options.Audit).
// Both are taken after the decision, off its critical section; neither can
// fail the request. A record never holds the token, the CSR or a key.

// result is the meter's result label of err: "ok" or the error kind.
func result(err error) string {
	if err == nil {
		return meter.ResultOK
	}
	switch errs.KindOf(err) {
	case errs.BadRequest:
		return "bad_request"
	case errs.Unauthorized:
		return "unauthorized"
	case errs.Forbidden:
		return "forbidden"
	case errs.NotFound:
		return "not_found"
	case errs.Conflict:
		return "conflict"
	case errs.RateLimited:
		return "rate_limited"
	case errs.Unavailable:
		return "unavailable"
	case errs.NotImplemented:
		return "not_implemented"
	}
	return "internal"
}

// doneDecision is the audit decision of op when it was carried out.
func doneDecision(op string) string {
	switch op {
	case meter.OpSign, meter.OpSSHSign:
		return audit.Issue
	case meter.OpRenew, meter.OpSSHRenew:
		return audit.Renew
	case meter.OpRekey, meter.OpSSHRekey:
		return audit.Rekey
	case meter.OpRevoke, meter.OpSSHRevoke:
		return audit.Revoke
	}
	return audit.Admin
}

// newRecord starts the audit record of op, with the request's ID and
// client address when the API gave them (audit.WithRequest).
func (a *Authority) newRecord(ctx context.Context, op, prov string, err error) *audit.Record {
	r := &audit.Record{Time: a.now().UTC(), Operation: op, Provisioner: prov, Outcome: meter.ResultOK, Decision: doneDecision(op)}
	if req := audit.RequestFrom(ctx); req != nil {
		r.RequestID, r.ClientAddress = req.ID, req.ClientAddress
	}
	if err != nil {
		r.Decision, r.Outcome, r.Reason = audit.Refuse, result(err), err.Error()
	}
	return r
}

// describe fills r's certificate fields from c.
func describe(r *audit.Record, c *x509.Certificate) {
	r.Subject = c.Subject.String()
	r.SANs = sans(c.DNSNames, c.IPAddresses, c.EmailAddresses, c.URIs)
	if c.SerialNumber != nil {
		r.Serial = c.SerialNumber.String()
	}
	if !c.NotBefore.IsZero() {
		nb, na := c.NotBefore.UTC(), c.NotAfter.UTC()
		r.NotBefore, r.NotAfter = &nb, &na
	}
}

// decided reports a sign decision: csr is what was asked, iss what was
// issued (nil when refused).
func (a *Authority) decided(ctx context.Context, op, prov string, csr *x509.CertificateRequest, iss *Issued, err error) {
	a.meter.Certificate(op, prov, result(err))
	if a.audit == nil {
		return
	}
	r := a.newRecord(ctx, op, prov, err)
	switch {
	case iss != nil:
		describe(r, iss.Template)
	case csr != nil:
		r.Subject = csr.Subject.String()
		r.SANs = sans(csr.DNSNames, csr.IPAddresses, csr.EmailAddresses, csr.URIs)
	}
	a.audit.Record(ctx, r)
}

// renewDecided reports a renew or rekey of cert.
func (a *Authority) renewDecided(ctx context.Context, op string, cert *x509.Certificate, iss *Issued, err error) {
	prov := ""
	if iss != nil {
		prov = iss.Provisioner.Name
	} else if ext, ok := provisioner.FindExtension(cert); ok {
		if p, ok := a.provisioners.ByCertificate(ext); ok {
			prov = p.Info().Name
		}
	}
	a.meter.Certificate(op, prov, result(err))
	if a.audit == nil {
		return
	}
	r := a.newRecord(ctx, op, prov, err)
	if iss != nil {
		describe(r, iss.Template)
	} else {
		describe(r, cert)
		r.NotBefore, r.NotAfter = nil, nil
	}
	if err != nil {
		// The serial of the certificate presented, not of one issued.
		r.Serial = cert.SerialNumber.String()
	}
	a.audit.Record(ctx, r)
}

// revokeDecided reports a revocation.
func (a *Authority) revokeDecided(ctx context.Context, req *RevokeRequest, rv *Revoked, err error) {
	prov := ""
	if rv != nil {
		prov = rv.Provisioner.Name
	}
	a.meter.Certificate(meter.OpRevoke, prov, result(err))
	if a.audit == nil {
		return
	}
	r := a.newRecord(ctx, meter.OpRevoke, prov, err)
	r.Serial = req.Serial
	if rv != nil {
		r.Serial = rv.Serial
		r.Reason = req.Reason
		if r.Reason == "" {
			r.Reason = reasonName(req.ReasonCode)
		}
	}
	if req.Cert != nil {
		r.Subject = req.Cert.Subject.String()
	}
	a.audit.Record(ctx, r)
}

func reasonName(code int) string {
	for name, c := range ReasonCodes {
		if c == code {
			return name
		}
	}
	return ""
}

// sans lists a certificate's or request's names as step prints them.
func sans(dns []string, ips []net.IP, emails []string, uris []*url.URL) []string {
	out := make([]string, 0, len(dns)+len(ips)+len(emails)+len(uris))
	out = append(out, dns...)
	for _, ip := range ips {
		out = append(out, ip.String())
	}
	out = append(out, emails...)
	for _, u := range uris {
		out = append(out, u.String())
	}
	return out
}

// AuditAdmin records an administrative change (made through the admin API)
// in the audit log: op names it ("provisioner add", ...), subject the
// admin who made it, target what it changed. err is nil when it was made.
func (a *Authority) AuditAdmin(ctx context.Context, op, subject, target string, err error) {
	if a.audit == nil {
		return
	}
	r := a.newRecord(ctx, op, "", err)
	if err == nil {
		r.Decision = audit.Admin
	}
	r.Subject, r.Reason = subject, target
	if err != nil {
		r.Reason = target + ": " + err.Error()
	}
	a.audit.Record(ctx, r)
}
