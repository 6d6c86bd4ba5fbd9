package postgresql

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mayfly-pki/mayfly/authority/store"
)

const (
	sqlGetCertificate = `SELECT der, data, not_after, subject, provisioner FROM x509_certs WHERE serial = $1`
	sqlGetRevocation  = `SELECT provisioner_id, reason_code, reason, revoked_at, revoked_at_ns, expires_at,
		token_id, mtls, acme FROM revoked_x509_certs WHERE serial = $1`
)

// GetCertificate returns the x509_certs record of serial, or
// store.ErrNotFound (wrapped). Data is nil when the record has none; the
// index fields are the stored columns (NotAfter in UTC, zero when NULL).
func (s *Store) GetCertificate(ctx context.Context, serial string) (*store.Certificate, error) {
	what := "get certificate " + serial
	if err := ctxErr(ctx, what); err != nil {
		return nil, err
	}
	if err := checkSerial(serial); err != nil {
		return nil, err
	}
	c := &store.Certificate{Serial: serial}
	var (
		notAfter             *time.Time
		subject, provisioner *string
	)
	err := s.read(ctx, what, func(conn *pgxpool.Conn) error {
		return conn.QueryRow(ctx, sqlGetCertificate, serial).Scan(&c.DER, &c.Data, &notAfter, &subject, &provisioner)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("%s: table x509_certs: %w", what, store.ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	if notAfter != nil {
		c.NotAfter = notAfter.UTC()
	}
	if subject != nil {
		c.Subject = *subject
	}
	if provisioner != nil {
		c.Provisioner = *provisioner
	}
	return c, nil
}

// GetRevocation returns the revoked_x509_certs record of serial, or
// store.ErrNotFound (wrapped). Times are in UTC; NULL times are zero.
func (s *Store) GetRevocation(ctx context.Context, serial string) (*store.Revocation, error) {
	what := "get revocation " + serial
	if err := ctxErr(ctx, what); err != nil {
		return nil, err
	}
	if err := checkSerial(serial); err != nil {
		return nil, err
	}
	r := &store.Revocation{Serial: serial}
	var (
		revokedAt, expiresAt *time.Time
		revokedNs            int
	)
	err := s.read(ctx, what, func(conn *pgxpool.Conn) error {
		return conn.QueryRow(ctx, sqlGetRevocation, serial).Scan(&r.ProvisionerID, &r.ReasonCode, &r.Reason,
			&revokedAt, &revokedNs, &expiresAt, &r.TokenID, &r.MTLS, &r.ACME)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("%s: table revoked_x509_certs: %w", what, store.ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	r.RevokedAt = joinNanos(revokedAt, revokedNs)
	r.ExpiresAt = joinNanos(expiresAt, 0)
	return r, nil
}

// read runs fn on a pooled connection unless the store is closed. A read
// that fails because its connection broke is retried once after resetting
// the pool (reads are idempotent). pgx.ErrNoRows is returned as is; other
// errors are classified by fail.
func (s *Store) read(ctx context.Context, what string, fn func(conn *pgxpool.Conn) error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return s.errClosed()
	}
	var err error
	for try := range 2 {
		var lost bool
		lost, err = s.readOnce(ctx, fn)
		if err == nil || errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%s: %w", what, ctx.Err())
		}
		if !lost {
			break
		}
		if try == 0 {
			s.pool.Reset()
		}
	}
	return s.fail(what, err)
}

// readOnce runs fn once; lost reports that the connection broke (or none
// could be had).
func (s *Store) readOnce(ctx context.Context, fn func(conn *pgxpool.Conn) error) (bool, error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return true, fmt.Errorf("connect: %w", err)
	}
	defer conn.Release()
	err = fn(conn)
	return err != nil && conn.Conn().IsClosed(), err
}
