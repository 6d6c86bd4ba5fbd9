package postgresql

import (
	"context"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/db/internal/sqlstore"
)

// listSQL orders serials by octet_length and byte order (the "C"
// collation), which is store.CompareSerials order.
var listSQL = sqlstore.ListSQL{
	Placeholder:  func(n int) string { return "$" + strconv.Itoa(n) },
	SerialLength: "octet_length(c.serial)",
	Serial:       `c.serial COLLATE "C"`,
	Cursor:       func(cursor string) any { return cursor },
}

// ListCertificates implements store.Inventory with one SELECT
// (sqlstore.ListQuery) on a pooled connection: a statement snapshot, so
// writers are not blocked.
func (s *Store) ListCertificates(ctx context.Context, f store.CertificateFilter) ([]*store.CertificateInfo, string, error) {
	const what = "list certificates"
	if err := sqlstore.CheckFilter(ctx, what, f); err != nil {
		return nil, "", err
	}
	p := sqlstore.NewPage(f)
	query, args := sqlstore.ListQuery(listSQL, f, p.Fetch())
	err := s.read(ctx, what, func(conn *pgxpool.Conn) error {
		rows, err := conn.Query(ctx, query, args...)
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

// sqlDeleteExpired removes up to $2 rows expired before $1, oldest first;
// rows another transaction holds are skipped (a concurrent DeleteExpired of
// another CA takes the next ones).
const sqlDeleteExpired = `DELETE FROM x509_certs WHERE serial IN (
	SELECT serial FROM x509_certs WHERE not_after < $1 ORDER BY not_after LIMIT $2 FOR UPDATE SKIP LOCKED)`

// DeleteExpired implements store.Inventory: one DELETE of up to limit
// x509_certs rows (DER and data: one row here) whose not_after column is
// before before, through the committers (durable on return). Rows whose
// not_after is NULL are never deleted. Revocations are kept. A read-only
// store refuses with errs.Unavailable.
func (s *Store) DeleteExpired(ctx context.Context, before time.Time, limit int) (int, error) {
	if limit <= 0 {
		limit = store.MaxListLimit
	}
	return s.w.Delete(ctx, "delete expired certificates", "x509_certs", sqlDeleteExpired, before.UTC(), limit)
}

// sqlPruneUsedTokens removes up to $2 used_ott rows whose token expired
// before $1 (by the expires_at index), skipping rows another transaction
// holds.
const sqlPruneUsedTokens = `DELETE FROM used_ott WHERE token_key IN (
	SELECT token_key FROM used_ott WHERE expires_at < $1 ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)`

// Maintain implements store.Maintainer: it deletes the used_ott rows of
// tokens whose exp is more than sqlstore.UsedTokenGrace in the past, in
// DELETEs of at most sqlstore.PruneBatch rows through the committers,
// until none is left or ctx ends. Rows without expires_at (tokens without
// a numeric exp, rows written before schema version 2) are kept. Then it
// deletes the ACME nonces older than acmesql.NonceMaxAge (by the indexed
// created_at column) the same way. A
// read-only store (hot standby) does nothing. After Close it returns an
// error of kind errs.Unavailable.
func (s *Store) Maintain(ctx context.Context) error {
	if s.readOnly {
		return s.w.Read(func() error { return nil })
	}
	now := time.Now()
	err := sqlstore.PruneUsedTokens(now, func(before time.Time, limit int) (int, error) {
		return s.w.Delete(ctx, "delete expired used tokens", "used_ott", sqlPruneUsedTokens, before, limit)
	})
	if err != nil {
		return err
	}
	return s.pruneNonces(ctx, now)
}
