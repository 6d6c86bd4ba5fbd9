package authority

import (
	"crypto/x509"
	"time"

	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/internal/timeutil"
	"github.com/mayfly-pki/mayfly/provisioner"
)

// window is a certificate's validity while it is being decided: every
// adjustment (claims default, backdate, caps) changes it first, and check
// then judges the result, so that no adjustment escapes the bounds.
type window struct {
	now                 time.Time // whole seconds
	notBefore, notAfter time.Time
	explicitNB          bool // notBefore was requested
	explicitNA          bool // notAfter was requested
	capped              bool // notAfter was cut to the issuer's expiry
}

// signWindow computes a signed certificate's validity before the plan's
// modifiers and caps (wire-spec §5.1): the backdate applies only to an unset
// notBefore, and notAfter is relative to the un-backdated notBefore. Times
// are whole seconds (as certificates encode them and step-ca compares them).
// A default notAfter past the issuer's expiry is cut to it. checkSign judges
// the result once the plan has made its last change.
func (a *Authority) signWindow(now time.Time, nb, na timeutil.TimeDuration, c provisioner.Resolved) window {
	w := window{now: now.Truncate(time.Second)}
	w.notBefore = nb.RelativeTo(w.now).Truncate(time.Second)
	w.explicitNB = !w.notBefore.IsZero()
	backdate := time.Duration(0)
	if !w.explicitNB {
		w.notBefore = w.now
		backdate = a.backdate
	}
	w.notAfter = na.RelativeTo(w.notBefore).Truncate(time.Second)
	w.explicitNA = !w.notAfter.IsZero()
	if !w.explicitNA {
		w.notAfter = w.notBefore.Add(c.DefaultTLSDur)
	}
	w.notBefore = w.notBefore.Add(-backdate)
	a.fitIssuer(&w)
	return w
}

// checkSign judges a signed certificate's final validity, nb and na (after
// the plan's modifiers and caps), against w's request and the claims c: the
// maximum always allows the configured backdate, as step-ca's validity
// validator does.
//
// Unlike step-ca, the certificate must fit in the issuer's validity: a
// requested window that does not is refused, naming the issuer's expiry.
func (a *Authority) checkSign(w window, nb, na time.Time, c provisioner.Resolved) error {
	if !na.Equal(w.notAfter) {
		// A cap (X5C: the authenticating certificate's expiry) or modifier
		// moved notAfter: it is no longer the issuer's expiry's doing.
		w.capped = false
	}
	w.notBefore, w.notAfter = nb, na
	return a.check(&w, c, true)
}

// renewValidity is the validity of cert's renewal (wire-spec §3.4 POST
// /renew): from now−backdate for the old certificate's total length. As
// with step-ca the claims' maximum does not apply (the length was authorized
// when the certificate was issued); the issuer's validity does, and a
// renewal cut to the issuer's expiry must last the provisioner's minimum.
func (a *Authority) renewValidity(now time.Time, cert *x509.Certificate, c provisioner.Resolved) (time.Time, time.Time, error) {
	w := window{now: now.Truncate(time.Second)}
	w.notBefore = now.Add(-a.backdate)
	w.notAfter = w.notBefore.Add(cert.NotAfter.Sub(cert.NotBefore))
	a.fitIssuer(&w)
	if err := a.check(&w, c, false); err != nil {
		return time.Time{}, time.Time{}, err
	}
	return w.notBefore.UTC(), w.notAfter.UTC(), nil
}

// fitIssuer cuts a notAfter the client did not ask for (the claims' default,
// a renewal's length) to the issuer's expiry; what the client asked for is
// left for check to judge.
func (a *Authority) fitIssuer(w *window) {
	if iss := a.issuer.Certificate(); !w.explicitNA && w.notAfter.After(iss.NotAfter) {
		w.notAfter, w.capped = iss.NotAfter, true
	}
}

// check judges the window once every adjustment is made: starting and ending
// by the issuer's expiry, notAfter after now and after notBefore, and the
// duration within the claims (the maximum only when withMax).
//
// A notBefore before the issuer's own may stand, as step-ca issues it: the
// backdate reaches there in the minute after `step ca init`, and a client
// may ask for a certificate already part-way through its life (to test a
// renewal schedule). Such a certificate only verifies once both are valid;
// one that outlives its issuer would claim a life it cannot have.
func (a *Authority) check(w *window, c provisioner.Resolved, withMax bool) error {
	iss := a.issuer.Certificate()
	switch {
	case !w.explicitNB && !w.notBefore.Before(iss.NotAfter):
		return errs.Errorf(errs.BadRequest, "the issuer expired at %s", rfc3339(iss.NotAfter))
	case !w.notBefore.Before(iss.NotAfter):
		return errs.Errorf(errs.BadRequest, "requested notBefore %s is after the issuer's expiry at %s", rfc3339(w.notBefore), rfc3339(iss.NotAfter))
	case w.notAfter.After(iss.NotAfter):
		return errs.Errorf(errs.BadRequest, "requested notAfter %s is after the issuer's expiry at %s", rfc3339(w.notAfter), rfc3339(iss.NotAfter))
	case !w.notAfter.After(w.now):
		return errs.Errorf(errs.BadRequest, "notAfter cannot be in the past")
	case !w.notAfter.After(w.notBefore):
		return errs.Errorf(errs.BadRequest, "notAfter must be after notBefore")
	}
	d := w.notAfter.Sub(w.notBefore)
	if d < c.MinTLSDur {
		if w.capped {
			return errs.Errorf(errs.BadRequest, "the issuer expires at %s: a certificate from %s would be valid for %s, less than the authorized minimum certificate duration of %s",
				rfc3339(iss.NotAfter), rfc3339(w.notBefore), d, c.MinTLSDur)
		}
		return errs.Errorf(errs.Forbidden, "requested duration of %s is less than the authorized minimum certificate duration of %s", d, c.MinTLSDur)
	}
	if max := c.MaxTLSDur + a.backdate; withMax && d > max {
		return errs.Errorf(errs.Forbidden, "requested duration of %s is more than the authorized maximum certificate duration of %s", d, max)
	}
	return nil
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }
