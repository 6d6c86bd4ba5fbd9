package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/mayfly-pki/mayfly/authority/store"
)

// ListSQL is how a server spells the parts of the listing query that
// differ.
type ListSQL struct {
	// Placeholder returns the n-th (1-based) parameter marker: "$1" or "?".
	Placeholder func(n int) string
	// SerialLength and Serial are the expressions ordering x509_certs c
	// in store.CompareSerials order: the serial's length in bytes, then the
	// serial in byte order.
	SerialLength, Serial string
	// Cursor converts the cursor to the serial column's parameter type.
	Cursor func(cursor string) any
}

// CheckFilter validates the fields of f that reach SQL.
func CheckFilter(ctx context.Context, what string, f store.CertificateFilter) error {
	if err := CtxErr(ctx, what); err != nil {
		return err
	}
	if f.Cursor != "" {
		if err := CheckKey("cursor", f.Cursor, MaxSerialLen); err != nil {
			return err
		}
		if err := CheckText("cursor", f.Cursor); err != nil {
			return err
		}
	}
	if f.Provisioner != "" {
		if err := CheckText("provisioner filter", f.Provisioner); err != nil {
			return err
		}
	}
	return nil
}

// ListQuery builds the SELECT of ListCertificates, reading at most fetch
// rows (Page.Fetch) of x509_certs c LEFT JOIN revoked_x509_certs r. Its
// columns, in order: c.serial, c.der, c.provisioner, c.not_after,
// r.reason_code, r.revoked_at, r.revoked_at_ns.
//
// SQL does the selective work: ExpiringBefore/ExpiringAfter on the
// not_after column (rows whose not_after is NULL pass, and Page judges
// them on their DER), Provisioner on the provisioner column (exact, after
// IndexText), Revoked on the join, and the order with the cursor as
// "serials after it". The Subject filter is left to Page: SANs have no
// column. The sort is not served by an index: every call sorts the rows
// passing the filters.
func ListQuery(d ListSQL, f store.CertificateFilter, fetch int) (string, []any) {
	var (
		where []string
		args  []any
	)
	arg := func(v any) string {
		args = append(args, v)
		return d.Placeholder(len(args))
	}
	if !f.ExpiringBefore.IsZero() {
		where = append(where, "(c.not_after IS NULL OR c.not_after < "+arg(f.ExpiringBefore.UTC())+")")
	}
	if !f.ExpiringAfter.IsZero() {
		where = append(where, "(c.not_after IS NULL OR c.not_after > "+arg(f.ExpiringAfter.UTC())+")")
	}
	if f.Provisioner != "" {
		where = append(where, "c.provisioner = "+arg(IndexText(f.Provisioner)))
	}
	if f.Revoked != nil {
		if *f.Revoked {
			where = append(where, "r.serial IS NOT NULL")
		} else {
			where = append(where, "r.serial IS NULL")
		}
	}
	if f.Cursor != "" {
		where = append(where, fmt.Sprintf("(%s > %s OR (%s = %s AND %s > %s))",
			d.SerialLength, arg(len(f.Cursor)), d.SerialLength, arg(len(f.Cursor)), d.Serial, arg(d.Cursor(f.Cursor))))
	}
	q := `SELECT c.serial, c.der, c.provisioner, c.not_after, r.reason_code, r.revoked_at, r.revoked_at_ns
		FROM x509_certs c LEFT JOIN revoked_x509_certs r ON r.serial = c.serial`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY " + d.SerialLength + ", " + d.Serial + " LIMIT " + arg(fetch)
	return q, args
}

// Rows are the rows of a query (pgx.Rows and *sql.Rows are).
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// Page builds one page of ListCertificates from the rows of ListQuery. The
// record fields (SANs, NotBefore, NotAfter, Subject) come from the DER,
// Provisioner from the column. With a Subject filter a call reads up to
// store.MaxListScan rows and may return a short page with a cursor.
type Page struct {
	f            store.CertificateFilter
	limit, fetch int
	page         []*store.CertificateInfo
	next, last   string
	scanned      int
	full         bool
}

// NewPage returns the page of f, empty.
func NewPage(f store.CertificateFilter) *Page {
	p := &Page{f: f, limit: f.PageSize()}
	p.fetch = p.limit + 1
	if f.Subject != "" {
		p.fetch = store.MaxListScan
	}
	return p
}

// Fetch is the number of rows the query reads.
func (p *Page) Fetch() int { return p.fetch }

// Read empties the page, then fills it from rows of ListQuery: it keeps the
// rows that pass the filters SQL could not apply (the subject; the time
// filters for a row without not_after) and stops once the page is full.
// The query may be run and read again (after a lost connection).
func (p *Page) Read(rows Rows) error {
	p.page, p.next, p.last, p.scanned, p.full = nil, "", "", 0, false
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
		info, err := listInfo(*serial, der, provisioner, reason, revokedAt, revokedNs)
		if err != nil {
			return err
		}
		p.scanned++
		p.last = info.Serial
		if !p.match(info, notAfter == nil) {
			continue
		}
		if len(p.page) == p.limit {
			p.next, p.full = p.page[len(p.page)-1].Serial, true
			return nil
		}
		p.page = append(p.page, info)
	}
	return rows.Err()
}

// listInfo builds one listing record from a row of ListQuery.
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
		info.Revoked, info.RevokedAt, info.ReasonCode = true, JoinNanos(revokedAt, ns), int(*reason)
	}
	return info, nil
}

// match applies the filters SQL could not: the subject (common name and
// SANs, from the DER) and, for a row without a not_after column, the time
// filters on the DER's NotAfter.
func (p *Page) match(info *store.CertificateInfo, noNotAfter bool) bool {
	g := store.CertificateFilter{Subject: p.f.Subject}
	if noNotAfter {
		g.ExpiringBefore, g.ExpiringAfter = p.f.ExpiringBefore, p.f.ExpiringAfter
	}
	return g.Match(info)
}

// Result returns the page and the cursor of the next one ("" when the
// listing is complete), once the rows are read.
func (p *Page) Result() ([]*store.CertificateInfo, string) {
	if !p.full && p.scanned == p.fetch {
		// The query was cut by its LIMIT: more rows may follow.
		return p.page, p.last
	}
	return p.page, p.next
}
