package postgresql

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mayfly-pki/mayfly/authority/store"
)

var _ store.Inventory = (*Store)(nil)

// ListCertificates implements store.Inventory with one SELECT on a pooled
// connection (a statement snapshot: writers are not blocked).
//
// SQL does the selective work: ExpiringBefore/ExpiringAfter on the
// not_after column, Provisioner on the provisioner column (exact, after
// indexText), Revoked with a LEFT JOIN on revoked_x509_certs, and the order
// (octet_length(serial), serial in byte order), which is
// store.CompareSerials order, with the cursor as "serials after it". The
// Subject filter is applied in Go: SANs have no column, so every row passing
// the SQL filters is parsed and matched on its DER's common name and SANs;
// such a call reads at most store.MaxListScan rows and may return a short
// page with a cursor. Rows whose not_after is NULL are kept by the SQL time
// filters and judged on their DER's NotAfter. The record fields (SANs,
// NotBefore, NotAfter, Subject) come from the DER, Provisioner from the
// column. The sort is not served by an index: every call sorts the rows
// passing the filters.
func (s *Store) ListCertificates(ctx context.Context, f store.CertificateFilter) ([]*store.CertificateInfo, string, error) {
	const what = "list certificates"
	if err := ctxErr(ctx, what); err != nil {
		return nil, "", err
	}
	if f.Cursor != "" {
		if err := checkKey("cursor", f.Cursor, maxSerialLen); err != nil {
			return nil, "", err
		}
		if err := checkText("cursor", f.Cursor); err != nil {
			return nil, "", err
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
	err := s.read(ctx, what, func(conn *pgxpool.Conn) error {
		page, next, scanned = nil, "", 0
		rows, err := conn.Query(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		last := ""
		for rows.Next() {
			var (
				serial, provisioner *string
				der                 []byte
				notAfter, revokedAt *time.Time
				reason, revokedNs   *int32
			)
			if err := rows.Scan(&serial, &der, &provisioner, &notAfter, &reason, &revokedAt, &revokedNs); err != nil {
				return err
			}
			scanned++
			last = *serial
			info, err := listInfo(*serial, der, provisioner, reason, revokedAt, revokedNs)
			if err != nil {
				return err
			}
			if !goMatch(f, info, notAfter == nil) {
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
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if !f.ExpiringBefore.IsZero() {
		where = append(where, "(c.not_after IS NULL OR c.not_after < "+arg(f.ExpiringBefore.UTC())+")")
	}
	if !f.ExpiringAfter.IsZero() {
		where = append(where, "(c.not_after IS NULL OR c.not_after > "+arg(f.ExpiringAfter.UTC())+")")
	}
	if f.Provisioner != "" {
		where = append(where, "c.provisioner = "+arg(indexText(f.Provisioner)))
	}
	if f.Revoked != nil {
		if *f.Revoked {
			where = append(where, "r.serial IS NOT NULL")
		} else {
			where = append(where, "r.serial IS NULL")
		}
	}
	if f.Cursor != "" {
		n, c := arg(len(f.Cursor)), arg(f.Cursor)
		where = append(where, fmt.Sprintf(`(octet_length(c.serial) > %s OR (octet_length(c.serial) = %s AND c.serial COLLATE "C" > %s))`, n, n, c))
	}
	q := `SELECT c.serial, c.der, c.provisioner, c.not_after, r.reason_code, r.revoked_at, r.revoked_at_ns
		FROM x509_certs c LEFT JOIN revoked_x509_certs r ON r.serial = c.serial`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += ` ORDER BY octet_length(c.serial), c.serial COLLATE "C" LIMIT ` + arg(fetch)
	return q, args
}

// listInfo builds one listing record from a row of listQuery.
func listInfo(serial string, der []byte, provisioner *string, reason *int32, revokedAt *time.Time, revokedNs *int32) (*store.CertificateInfo, error) {
	prov := ""
	if provisioner != nil {
		prov = *provisioner
	}
	info, err := store.NewCertificateInfo(serial, der, prov)
	if err != nil {
		return nil, fmt.Errorf("table x509_certs: %w", err)
	}
	if reason != nil {
		ns := 0
		if revokedNs != nil {
			ns = int(*revokedNs)
		}
		info.Revoked, info.RevokedAt, info.ReasonCode = true, joinNanos(revokedAt, ns), int(*reason)
	}
	return info, nil
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
	if err := ctxErr(ctx, "delete expired certificates"); err != nil {
		return 0, err
	}
	if limit <= 0 {
		limit = store.MaxListLimit
	}
	o := &op{
		what:  "delete expired certificates",
		table: "x509_certs",
		sql:   sqlDeleteExpired,
		args:  []any{before.UTC(), limit},
	}
	if err := s.submit(ctx, o); err != nil {
		return 0, err
	}
	return int(o.rows), nil
}
