package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/db/internal/sqlstore"
)

var reader = sqlstore.Reader{NoRows: sql.ErrNoRows}

// GetCertificate returns the x509_certs record of serial, or
// store.ErrNotFound (wrapped); see sqlstore.Reader.Certificate.
func (s *Store) GetCertificate(ctx context.Context, serial string) (*store.Certificate, error) {
	return reader.Certificate(ctx, serial, s.row(ctx, s.stmts.getCertificate, []byte(serial)))
}

// GetRevocation returns the revoked_x509_certs record of serial, or
// store.ErrNotFound (wrapped); see sqlstore.Reader.Revocation.
func (s *Store) GetRevocation(ctx context.Context, serial string) (*store.Revocation, error) {
	return reader.Revocation(ctx, serial, s.row(ctx, s.stmts.getRevocation, []byte(serial)))
}

// row returns the sqlstore.Row running stmt with args through read.
func (s *Store) row(ctx context.Context, stmt *sql.Stmt, args ...any) sqlstore.Row {
	return func(what string, dest ...any) error {
		return s.read(ctx, what, func() error {
			return stmt.QueryRowContext(ctx, args...).Scan(dest...)
		})
	}
}

// read runs fn unless the store is closed. A read whose connection broke is
// retried once (reads are idempotent; database/sql itself already retries
// connections found dead before use). sql.ErrNoRows is returned as is;
// other errors are classified by Fail.
func (s *Store) read(ctx context.Context, what string, fn func() error) error {
	return s.w.Read(func() error {
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
		return s.db.Fail(what, err)
	})
}
