package client

import (
	"crypto/tls"
	"crypto/x509"
	"testing"
	"time"
)

// A certificate is due for renewal at two thirds of the time from its
// receipt to its expiry: the CA's backdate must not make a short-lived
// certificate due on arrival (Run then renewed it in a loop).
func TestRenewalIsDueAtTwoThirdsFromReceipt(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name       string
		nb, na     time.Time
		wantDueAft time.Duration
	}{
		{"backdated by a minute, 15s left", now.Add(-time.Minute), now.Add(15 * time.Second), 10 * time.Second},
		{"24h, not backdated", now, now.Add(24 * time.Hour), 16 * time.Hour},
		{"valid from the future", now.Add(3 * time.Second), now.Add(6 * time.Second), 5 * time.Second},
	} {
		id := &Identity{o: IdentityOptions{Now: func() time.Time { return now }}}
		id.store(&tls.Certificate{Leaf: &x509.Certificate{NotBefore: tc.nb, NotAfter: tc.na}})
		if got := id.due.Load().Sub(now); got != tc.wantDueAft {
			t.Errorf("%s: due %v after receipt, want %v", tc.name, got, tc.wantDueAft)
		}
	}
}
