package mysql

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/mayfly-pki/mayfly/authority/store"
)

var _ store.Inventory = (*Store)(nil)

// ListCertificates implements store.Inventory with one SELECT (InnoDB's
// consistent read: writers are not blocked).
//
// SQL does the selective work: ExpiringBefore/ExpiringAfter on the
// not_after column, Provisioner on the provisioner column (exact, after
// indexText), Revoked with a LEFT JOIN on revoked_x509_certs, and the order
// (length(serial), serial: serial is VARBINARY, so byte length and byte
// order), which is store.CompareSerials order, with the cursor as "serials
// after it". The Subject filter is applied in Go: SANs have no column, so
// every row passing the SQL filters is parsed and matched on its DER's
// common name and SANs; such a call reads at most store.MaxListScan rows and
// may return a short page with a cursor. Rows whose not_after is NULL are
// kept by the SQL time filters and judged on their DER's NotAfter. The
// record fields (SANs, NotBefore, NotAfter, Subject) come from the DER,
// Provisioner from the column. The sort is not served by an index: every
// call sorts the rows passing the filters.
func (s *Store) ListCertificates(ctx context.Context, f store.CertificateFilter) ([]*store.CertificateInfo, string, error) {
	const what = "list certificates"
	if err := ctxErr(ctx, what); err != nil {
		return nil, "", err
	}
	if f.Cursor != "" {
		if err := checkSerial(f.Cursor); err != nil {
			return nil, "", fmt.Errorf("%s: cursor: %w", what, err)
		}
	}
	if f.Provisioner != "" {
		if err := checkText("provisioner filter", f.Provisioner); err != nil {
			return nil, "", err
		}
	}
	limit := f.PageSize()
	fetch := limit + 1
	if f.Subject != "" {
		fetch = store.MaxListScan
	}
	query, args := listQuery(f, fetch)
	var (
		page    []*store.CertificateInfo
		next    string
		scanned int
	)
	err := s.read(ctx, what, func() error {
		page, next, scanned = nil, "", 0
		rows, err := s.db.QueryContext(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		last := ""
		for rows.Next() {
			var (
				serial, der         []byte
				provisioner         sql.NullString
				notAfter, revokedAt sql.NullTime
				reason, revokedNs   sql.NullInt64
			)
			if err := rows.Scan(&serial, &der, &provisioner, &notAfter, &reason, &revokedAt, &revokedNs); err != nil {
				return err
			}
			scanned++
			last = string(serial)
			info, err := store.NewCertificateInfo(last, der, provisioner.String)
			if err != nil {
				return fmt.Errorf("table x509_certs: %w", err)
			}
			if reason.Valid {
				info.Revoked, info.RevokedAt, info.ReasonCode = true, joinNanos(revokedAt, int(revokedNs.Int64)), int(reason.Int64)
			}
			if !goMatch(f, info, !notAfter.Valid) {
				continue
			}
			if len(page) == limit {
				next = page[len(page)-1].Serial
				return nil
			}
			page = append(page, info)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if scanned == fetch && next == "" {
			// The query was cut by its LIMIT: more rows may follow.
			next = last
		}
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	return page, next, nil
}

// listQuery builds the SELECT of ListCertificates, reading at most fetch
// rows.
func listQuery(f store.CertificateFilter, fetch int) (string, []any) {
	var (
		where []string
		args  []any
	)
	if !f.ExpiringBefore.IsZero() {
		where = append(where, "(c.not_after IS NULL OR c.not_after < ?)")
		args = append(args, f.ExpiringBefore.UTC())
	}
	if !f.ExpiringAfter.IsZero() {
		where = append(where, "(c.not_after IS NULL OR c.not_after > ?)")
		args = append(args, f.ExpiringAfter.UTC())
	}
	if f.Provisioner != "" {
		where = append(where, "c.provisioner = ?")
		args = append(args, indexText(f.Provisioner))
	}
	if f.Revoked != nil {
		if *f.Revoked {
			where = append(where, "r.serial IS NOT NULL")
		} else {
			where = append(where, "r.serial IS NULL")
		}
	}
	if f.Cursor != "" {
		where = append(where, "(length(c.serial) > ? OR (length(c.serial) = ? AND c.serial > ?))")
		args = append(args, len(f.Cursor), len(f.Cursor), []byte(f.Cursor))
	}
	q := `SELECT c.serial, c.der, c.provisioner, c.not_after, r.reason_code, r.revoked_at, r.revoked_at_ns
		FROM x509_certs c LEFT JOIN revoked_x509_certs r ON r.serial = c.serial`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += ` ORDER BY length(c.serial), c.serial LIMIT ?`
	args = append(args, fetch)
	return q, args
}

// goMatch applies the filters SQL could not: the subject (common name and
// SANs, from the DER) and, for a row without a not_after column, the time
// filters on the DER's NotAfter.
func goMatch(f store.CertificateFilter, info *store.CertificateInfo, noNotAfter bool) bool {
	g := store.CertificateFilter{Subject: f.Subject}
	if noNotAfter {
		g.ExpiringBefore, g.ExpiringAfter = f.ExpiringBefore, f.ExpiringAfter
	}
	return g.Match(info)
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
	if err := ctxErr(ctx, "delete expired certificates"); err != nil {
		return 0, err
	}
	if limit <= 0 {
		limit = store.MaxListLimit
	}
	o := &op{
		what:  "delete expired certificates",
		table: "x509_certs",
		stmt:  s.stmts.deleteExpired,
		args:  []any{before.UTC(), limit},
	}
	if err := s.submit(ctx, o); err != nil {
		return 0, err
	}
	return int(o.rows), nil
}
