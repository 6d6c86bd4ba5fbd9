package postgresql

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/db/internal/sqlstore"
)

var _ store.CRLStore = (*Store)(nil)

const (
	sqlListRevocations = `SELECT serial, provisioner_id, reason_code, reason, revoked_at, revoked_at_ns,
		expires_at, token_id, mtls, acme FROM revoked_x509_certs WHERE expires_at IS NULL OR expires_at >= $1`
	sqlNextCRLNumber = `UPDATE mayfly_crl_number SET number = number + 1 WHERE id = 1 RETURNING number`
)

// ListRevocations reads revoked_x509_certs in one query (one snapshot).
func (s *Store) ListRevocations(ctx context.Context, notExpiredBefore time.Time, fn func(*store.Revocation) error) error {
	var fnErr error
	err := s.read(ctx, "list revocations", func(conn *pgxpool.Conn) error {
		rows, err := conn.Query(ctx, sqlListRevocations, notExpiredBefore.UTC())
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				r                    store.Revocation
				revokedAt, expiresAt *time.Time
				ns                   int
			)
			if err := rows.Scan(&r.Serial, &r.ProvisionerID, &r.ReasonCode, &r.Reason, &revokedAt, &ns,
				&expiresAt, &r.TokenID, &r.MTLS, &r.ACME); err != nil {
				return err
			}
			r.RevokedAt, r.ExpiresAt = sqlstore.JoinNanos(revokedAt, ns), sqlstore.JoinNanos(expiresAt, 0)
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

// NextCRLNumber increments the shared counter in one statement: two CAs
// never get the same number. A statement retried after its connection
// broke may skip a number; numbers stay increasing.
func (s *Store) NextCRLNumber(ctx context.Context) (int64, error) {
	var n int64
	err := s.read(ctx, "take CRL number", func(conn *pgxpool.Conn) error {
		return conn.QueryRow(ctx, sqlNextCRLNumber).Scan(&n)
	})
	if err != nil {
		return 0, fmt.Errorf("take CRL number: %w", err)
	}
	return n, nil
}
