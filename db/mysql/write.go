package mysql

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/internal/errs"
)

const (
	// A duplicate key turns the insert into a no-op update: 0 rows affected.
	sqlUseToken = `INSERT INTO used_ott (token_key, token) VALUES (?, ?)
		ON DUPLICATE KEY UPDATE token_key = token_key`
	sqlStoreCertificate = `INSERT INTO x509_certs (serial, der, data, not_after, subject, provisioner)
		VALUES (?, ?, ?, ?, ?, ?)
		ON DUPLICATE KEY UPDATE der = VALUES(der), data = VALUES(data), not_after = VALUES(not_after),
			subject = VALUES(subject), provisioner = VALUES(provisioner)`
	sqlRevoke = `INSERT INTO revoked_x509_certs (serial, provisioner_id, reason_code, reason,
			revoked_at, revoked_at_ns, expires_at, token_id, mtls, acme)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON DUPLICATE KEY UPDATE serial = serial`
	sqlGetCertificate = `SELECT der, data, not_after, subject, provisioner FROM x509_certs WHERE serial = ?`
	sqlGetRevocation  = `SELECT provisioner_id, reason_code, reason, revoked_at, revoked_at_ns, expires_at,
		token_id, mtls, acme FROM revoked_x509_certs WHERE serial = ?`
)

// statements are prepared once; database/sql prepares each again on every
// connection that runs it.
type statements struct {
	useToken, storeCertificate, revoke, getCertificate, getRevocation *sql.Stmt
	deleteExpired                                                     *sql.Stmt
}

func (s *Store) prepare(ctx context.Context) error {
	for _, p := range []struct {
		stmt **sql.Stmt
		sql  string
	}{
		{&s.stmts.useToken, sqlUseToken},
		{&s.stmts.storeCertificate, sqlStoreCertificate},
		{&s.stmts.revoke, sqlRevoke},
		{&s.stmts.getCertificate, sqlGetCertificate},
		{&s.stmts.getRevocation, sqlGetRevocation},
		{&s.stmts.deleteExpired, sqlDeleteExpired},
	} {
		if s.readOnly && p.sql != sqlGetCertificate && p.sql != sqlGetRevocation {
			continue
		}
		stmt, err := s.db.PrepareContext(ctx, p.sql)
		if err != nil {
			s.stmts.close()
			return s.fail("prepare statements", err)
		}
		*p.stmt = stmt
	}
	return nil
}

func (st *statements) close() {
	for _, stmt := range []*sql.Stmt{st.useToken, st.storeCertificate, st.revoke, st.getCertificate, st.getRevocation, st.deleteExpired} {
		if stmt != nil {
			_ = stmt.Close()
		}
	}
}

// UseToken inserts used_ott(key, token) unless key is present, in which
// case it returns store.ErrTokenUsed (wrapped). The outcome is the insert's
// affected-row count, so it is exact across CAs sharing the database and
// between two writes of the same key in one batch.
func (s *Store) UseToken(ctx context.Context, key string, token []byte) error {
	if err := ctxErr(ctx, "use token"); err != nil {
		return err
	}
	if err := checkKey("token key", key, maxTokenKeyLen); err != nil {
		return err
	}
	if err := checkValue("token", len(token)); err != nil {
		return err
	}
	v := bytes.Clone(token)
	if v == nil {
		v = []byte{}
	}
	return s.submit(ctx, &op{
		what:     "use token",
		table:    "used_ott",
		key:      key,
		stmt:     s.stmts.useToken,
		args:     []any{[]byte(key), v},
		conflict: fmt.Errorf("table used_ott, key %s: %w", key, store.ErrTokenUsed),
	})
}

// StoreCertificate upserts x509_certs[c.Serial] with the DER, the data JSON
// and the index columns (an existing record is replaced, as step-ca does).
// Subject and Provisioner are stored as indexText makes them.
func (s *Store) StoreCertificate(ctx context.Context, c *store.Certificate) error {
	if err := ctxErr(ctx, "store certificate"); err != nil {
		return err
	}
	if c == nil {
		return errs.Errorf(errs.BadRequest, "store certificate: no certificate")
	}
	if err := checkSerial(c.Serial); err != nil {
		return err
	}
	if len(c.DER) == 0 {
		return errs.Errorf(errs.BadRequest, "store certificate %s: empty DER", c.Serial)
	}
	for _, v := range []struct {
		what string
		n    int
	}{{"certificate DER", len(c.DER)}, {"certificate data", len(c.Data)}} {
		if err := checkValue(v.what, v.n); err != nil {
			return err
		}
	}
	return s.submit(ctx, &op{
		what:  "store certificate " + c.Serial,
		table: "x509_certs",
		key:   c.Serial,
		stmt:  s.stmts.storeCertificate,
		args: []any{[]byte(c.Serial), bytes.Clone(c.DER), bytes.Clone(c.Data), nullTime(c.NotAfter),
			indexText(c.Subject), indexText(c.Provisioner)},
	})
}

// Revoke inserts revoked_x509_certs[r.Serial] unless the serial is already
// revoked (store.ErrAlreadyRevoked, wrapped); exact across CAs sharing the
// database.
func (s *Store) Revoke(ctx context.Context, r *store.Revocation) error {
	if err := ctxErr(ctx, "revoke"); err != nil {
		return err
	}
	if r == nil {
		return errs.Errorf(errs.BadRequest, "revoke: no revocation")
	}
	if err := checkSerial(r.Serial); err != nil {
		return err
	}
	for _, f := range []struct{ what, v string }{
		{"provisioner ID", r.ProvisionerID}, {"revocation reason", r.Reason}, {"token ID", r.TokenID},
	} {
		if err := checkText(f.what, f.v); err != nil {
			return err
		}
		if err := checkValue(f.what, len(f.v)); err != nil {
			return err
		}
	}
	revokedAt, revokedNs := splitNanos(r.RevokedAt)
	return s.submit(ctx, &op{
		what:  "revoke " + r.Serial,
		table: "revoked_x509_certs",
		key:   r.Serial,
		stmt:  s.stmts.revoke,
		args: []any{[]byte(r.Serial), r.ProvisionerID, r.ReasonCode, r.Reason, revokedAt, revokedNs,
			nullTime(r.ExpiresAt), r.TokenID, r.MTLS, r.ACME},
		conflict: fmt.Errorf("table revoked_x509_certs, serial %s: %w", r.Serial, store.ErrAlreadyRevoked),
	})
}

// checkSerial applies the serial column's limit, and the text rule so that
// every SQL backend accepts the same serials.
func checkSerial(serial string) error {
	if err := checkKey("serial", serial, maxSerialLen); err != nil {
		return err
	}
	return checkText("serial", serial)
}

// nullTime returns t in UTC, or nil (SQL NULL) for the zero time.
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC()
}

// splitNanos splits t into what a DATETIME(6) keeps (microseconds; nil for
// the zero time) and the nanoseconds below it.
func splitNanos(t time.Time) (any, int) {
	if t.IsZero() {
		return nil, 0
	}
	return t.UTC().Truncate(time.Microsecond), t.Nanosecond() % 1000
}

// joinNanos is the inverse of splitNanos; a NULL time is the zero time.
func joinNanos(t sql.NullTime, ns int) time.Time {
	if !t.Valid {
		return time.Time{}
	}
	return t.Time.UTC().Add(time.Duration(ns))
}
