package mysql

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/db/internal/sqlstore"
)

var _ store.CRLStore = (*Store)(nil)

const sqlListRevocations = `SELECT serial, provisioner_id, reason_code, reason, revoked_at, revoked_at_ns,
	expires_at, token_id, mtls, acme FROM revoked_x509_certs WHERE expires_at IS NULL OR expires_at >= ?`

// ListRevocations reads revoked_x509_certs in one query (one snapshot).
func (s *Store) ListRevocations(ctx context.Context, notExpiredBefore time.Time, fn func(*store.Revocation) error) error {
	var fnErr error
	err := s.read(ctx, "list revocations", func() error {
		rows, err := s.sqlDB.QueryContext(ctx, sqlListRevocations, notExpiredBefore.UTC())
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				r                    store.Revocation
				serial               []byte
				revokedAt, expiresAt sql.NullTime
				ns                   int
			)
			if err := rows.Scan(&serial, &r.ProvisionerID, &r.ReasonCode, &r.Reason, &revokedAt, &ns,
				&expiresAt, &r.TokenID, &r.MTLS, &r.ACME); err != nil {
				return err
			}
			r.Serial = string(serial)
			r.RevokedAt, r.ExpiresAt = sqlstore.JoinNanos(ptr(revokedAt), ns), sqlstore.JoinNanos(ptr(expiresAt), 0)
			if fnErr = fn(&r); fnErr != nil {
				return nil
			}
		}
		return rows.Err()
	})
	if err != nil {
		return err
	}
	return fnErr
}

func ptr(t sql.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	return &t.Time
}

// NextCRLNumber increments the shared counter on one connection and reads
// the value it set (LAST_INSERT_ID(expr) is per connection): two CAs never
// get the same number.
func (s *Store) NextCRLNumber(ctx context.Context) (int64, error) {
	var n int64
	err := s.read(ctx, "take CRL number", func() error {
		conn, err := s.sqlDB.Conn(ctx)
		if err != nil {
			return err
		}
		defer conn.Close()
		if _, err := conn.ExecContext(ctx, `UPDATE mayfly_crl_number SET number = LAST_INSERT_ID(number + 1) WHERE id = 1`); err != nil {
			return err
		}
		return conn.QueryRowContext(ctx, `SELECT LAST_INSERT_ID()`).Scan(&n)
	})
	if err != nil {
		return 0, fmt.Errorf("take CRL number: %w", err)
	}
	return n, nil
}
