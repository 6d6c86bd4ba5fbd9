package postgresql

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/db/internal/sqlstore"
)

const (
	sqlGetCertificate = `SELECT der, data, not_after, subject, provisioner FROM x509_certs WHERE serial = $1`
	sqlGetRevocation  = `SELECT provisioner_id, reason_code, reason, revoked_at, revoked_at_ns, expires_at,
		token_id, mtls, acme FROM revoked_x509_certs WHERE serial = $1`
)

var reader = sqlstore.Reader{NoRows: pgx.ErrNoRows}

// GetCertificate returns the x509_certs record of serial, or
// store.ErrNotFound (wrapped); see sqlstore.Reader.Certificate.
func (s *Store) GetCertificate(ctx context.Context, serial string) (*store.Certificate, error) {
	return reader.Certificate(ctx, serial, s.row(ctx, sqlGetCertificate, serial))
}

// GetRevocation returns the revoked_x509_certs record of serial, or
// store.ErrNotFound (wrapped); see sqlstore.Reader.Revocation.
func (s *Store) GetRevocation(ctx context.Context, serial string) (*store.Revocation, error) {
	return reader.Revocation(ctx, serial, s.row(ctx, sqlGetRevocation, serial))
}

// row returns the sqlstore.Row running query with args through read.
func (s *Store) row(ctx context.Context, query string, args ...any) sqlstore.Row {
	return func(what string, dest ...any) error {
		return s.read(ctx, what, func(conn *pgxpool.Conn) error {
			return conn.QueryRow(ctx, query, args...).Scan(dest...)
		})
	}
}

// read runs fn on a pooled connection unless the store is closed. A read
// that fails because its connection broke is retried once after resetting
// the pool (reads are idempotent). pgx.ErrNoRows is returned as is; other
// errors are classified by Fail.
func (s *Store) read(ctx context.Context, what string, fn func(conn *pgxpool.Conn) error) error {
	return s.w.Read(func() error {
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
		return s.db.Fail(what, err)
	})
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
