package mysql

import (
	"context"
	"time"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/db/internal/sqlstore"
)

// listSQL orders serials by length and byte order: serial is VARBINARY, so
// that is store.CompareSerials order.
var listSQL = sqlstore.ListSQL{
	Placeholder:  func(int) string { return "?" },
	SerialLength: "length(c.serial)",
	Serial:       "c.serial",
	Cursor:       func(cursor string) any { return []byte(cursor) },
}

// ListCertificates implements store.Inventory with one SELECT
// (sqlstore.ListQuery): InnoDB's consistent read, so writers are not
// blocked.
func (s *Store) ListCertificates(ctx context.Context, f store.CertificateFilter) ([]*store.CertificateInfo, string, error) {
	const what = "list certificates"
	if err := sqlstore.CheckFilter(ctx, what, f); err != nil {
		return nil, "", err
	}
	p := sqlstore.NewPage(f)
	query, args := sqlstore.ListQuery(listSQL, f, p.Fetch())
	err := s.read(ctx, what, func() error {
		rows, err := s.sqlDB.QueryContext(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		return p.Read(rows)
	})
	if err != nil {
		return nil, "", err
	}
	page, next := p.Result()
	return page, next, nil
}

// sqlDeleteExpired removes up to the second argument's rows expired before
// the first, oldest first.
const sqlDeleteExpired = `DELETE FROM x509_certs WHERE not_after < ? ORDER BY not_after, serial LIMIT ?`

// DeleteExpired implements store.Inventory: one DELETE ... LIMIT of up to
// limit x509_certs rows (DER and data: one row here) whose not_after column
// is before before, through the normal write path (durable on return). Rows
// whose not_after is NULL are never deleted. Revocations are kept. A
// read-only store refuses with errs.Unavailable. Without committers, a
// DELETE retried after a lost connection counts only the retry's rows.
func (s *Store) DeleteExpired(ctx context.Context, before time.Time, limit int) (int, error) {
	if limit <= 0 {
		limit = store.MaxListLimit
	}
	return s.w.Delete(ctx, "delete expired certificates", "x509_certs", s.stmts.deleteExpired, before.UTC(), limit)
}

// sqlPruneUsedTokens removes up to the second argument's used_ott rows
// whose token expired before the first (by the expires_at index), oldest
// first.
const sqlPruneUsedTokens = `DELETE FROM used_ott WHERE expires_at < ? ORDER BY expires_at LIMIT ?`

// Maintain implements store.Maintainer: it deletes the used_ott rows of
// tokens whose exp is more than sqlstore.UsedTokenGrace in the past, in
// DELETEs of at most sqlstore.PruneBatch rows through the normal write
// path, until none is left or ctx ends. Rows without expires_at (tokens
// without a numeric exp, rows written before schema version 2) are kept.
// Then it deletes the ACME nonces older than acmesql.NonceMaxAge (by the
// indexed created_at column) the same way. A read-only store (replica)
// does nothing. After Close it returns an error
// of kind errs.Unavailable.
func (s *Store) Maintain(ctx context.Context) error {
	if s.readOnly {
		return s.w.Read(func() error { return nil })
	}
	now := time.Now()
	err := sqlstore.PruneUsedTokens(now, func(before time.Time, limit int) (int, error) {
		return s.w.Delete(ctx, "delete expired used tokens", "used_ott", s.stmts.pruneUsedTokens, before, limit)
	})
	if err != nil {
		return err
	}
	return s.pruneNonces(ctx, now)
}
