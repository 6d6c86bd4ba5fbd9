package store

import (
	"context"
	"time"
)

// CRLStore is implemented by stores that keep revocations (every backend
// but the in-memory one): what the CRL and OCSP services need. Methods are
// safe for concurrent use with every other method of the store.
type CRLStore interface {
	// ListRevocations calls fn with every revoked_x509_certs record whose
	// ExpiresAt is zero or not before notExpiredBefore, in no particular
	// order, from one consistent read. Only Serial, ReasonCode, RevokedAt
	// and ExpiresAt are filled (what a CRL needs; decoding the rest costs
	// seconds for a million records). fn must not keep r. An error from fn
	// stops the listing and is returned.
	ListRevocations(ctx context.Context, notExpiredBefore time.Time, fn func(r *Revocation) error) error
	// NextCRLNumber atomically takes the next CRL number and returns it:
	// 0 the first time, then one more at each call, durably, shared by
	// every process using the database (HA nodes never reuse a number).
	NextCRLNumber(ctx context.Context) (int64, error)
}
