package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/mayfly-pki/mayfly/authority/store"
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
		notAfter             sql.NullTime
		subject, provisioner sql.NullString
	)
	err := s.read(ctx, what, func() error {
		return s.stmts.getCertificate.QueryRowContext(ctx, []byte(serial)).Scan(&c.DER, &c.Data, &notAfter, &subject, &provisioner)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%s: table x509_certs: %w", what, store.ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	if notAfter.Valid {
		c.NotAfter = notAfter.Time.UTC()
	}
	c.Subject, c.Provisioner = subject.String, provisioner.String
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
		revokedAt, expiresAt sql.NullTime
		revokedNs            int
	)
	err := s.read(ctx, what, func() error {
		return s.stmts.getRevocation.QueryRowContext(ctx, []byte(serial)).Scan(&r.ProvisionerID, &r.ReasonCode,
			&r.Reason, &revokedAt, &revokedNs, &expiresAt, &r.TokenID, &r.MTLS, &r.ACME)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%s: table revoked_x509_certs: %w", what, store.ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	r.RevokedAt = joinNanos(revokedAt, revokedNs)
	r.ExpiresAt = joinNanos(expiresAt, 0)
	return r, nil
}

// read runs fn unless the store is closed. A read whose connection broke is
// retried once (reads are idempotent; database/sql itself already retries
// connections found dead before use). sql.ErrNoRows is returned as is;
// other errors are classified by fail.
func (s *Store) read(ctx context.Context, what string, fn func() error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return s.errClosed()
	}
	var err error
	for range 2 {
		err = fn()
		if err == nil || errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%s: %w", what, ctx.Err())
		}
		if !connectionLost(err) {
			break
		}
	}
	return s.fail(what, err)
}
