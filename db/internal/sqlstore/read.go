package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mayfly-pki/mayfly/authority/store"
)

// Row runs a backend's query for one row and scans it into dest (pointers
// to pointers for nullable columns). It returns noRows (see Reader) when
// there is no such row, other errors as the backend's read classified them.
type Row func(what string, dest ...any) error

// Reader runs the lookups of store.Store with a backend's queries.
type Reader struct {
	// NoRows is the driver's "no row" error, returned (wrapped or not) by a
	// Row that found nothing.
	NoRows error
}

// Certificate returns the x509_certs record of serial, read by row (der,
// data, not_after, subject, provisioner), or store.ErrNotFound (wrapped).
// Data is nil when the record has none; the index fields are the stored
// columns (NotAfter in UTC, zero when NULL).
func (rd Reader) Certificate(ctx context.Context, serial string, row Row) (*store.Certificate, error) {
	what := "get certificate " + serial
	if err := CheckLookup(ctx, what, serial); err != nil {
		return nil, err
	}
	c := &store.Certificate{Serial: serial}
	var (
		notAfter             *time.Time
		subject, provisioner *string
	)
	err := row(what, &c.DER, &c.Data, &notAfter, &subject, &provisioner)
	if errors.Is(err, rd.NoRows) {
		return nil, fmt.Errorf("%s: table x509_certs: %w", what, store.ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	c.NotAfter = JoinNanos(notAfter, 0)
	if subject != nil {
		c.Subject = *subject
	}
	if provisioner != nil {
		c.Provisioner = *provisioner
	}
	return c, nil
}

// Revocation returns the revoked_x509_certs record of serial, read by row
// (provisioner_id, reason_code, reason, revoked_at, revoked_at_ns,
// expires_at, token_id, mtls, acme), or store.ErrNotFound (wrapped). Times
// are in UTC; NULL times are zero.
func (rd Reader) Revocation(ctx context.Context, serial string, row Row) (*store.Revocation, error) {
	what := "get revocation " + serial
	if err := CheckLookup(ctx, what, serial); err != nil {
		return nil, err
	}
	r := &store.Revocation{Serial: serial}
	var (
		revokedAt, expiresAt *time.Time
		revokedNs            int
	)
	err := row(what, &r.ProvisionerID, &r.ReasonCode, &r.Reason, &revokedAt, &revokedNs, &expiresAt, &r.TokenID, &r.MTLS, &r.ACME)
	if errors.Is(err, rd.NoRows) {
		return nil, fmt.Errorf("%s: table revoked_x509_certs: %w", what, store.ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	r.RevokedAt = JoinNanos(revokedAt, revokedNs)
	r.ExpiresAt = JoinNanos(expiresAt, 0)
	return r, nil
}
