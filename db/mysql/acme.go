package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/db/internal/acmekv"
	"github.com/mayfly-pki/mayfly/db/internal/acmesql"
	"github.com/mayfly-pki/mayfly/internal/errs"
)

var (
	_ store.ACMEStore   = (*Store)(nil)
	_ store.ACMEScanner = (*Store)(nil)
	_ store.ACMEPutter  = (*Store)(nil)
)

// quote returns table as a quoted identifier; only store.ACMETables names
// reach it.
func quote(table string) string { return "`" + table + "`" }

// The statements of one ACME table (acmesql.For: a schema-7 table with
// extracted columns, or a key/value index table).

func acmeSelect(t acmesql.Table) string {
	return "SELECT " + t.Value + " FROM " + quote(t.Name) + " WHERE " + t.Key + " = ?"
}

func acmeUpsert(t acmesql.Table) string {
	cols := t.AllColumns()
	params := make([]string, len(cols))
	set := make([]string, 0, len(cols)-1)
	for i, c := range cols {
		params[i] = "?"
		if i > 0 {
			set = append(set, c+" = VALUES("+c+")")
		}
	}
	return "INSERT INTO " + quote(t.Name) + " (" + strings.Join(cols, ", ") + ") VALUES (" + strings.Join(params, ", ") +
		") ON DUPLICATE KEY UPDATE " + strings.Join(set, ", ")
}

func acmeDelete(t acmesql.Table) string {
	return "DELETE FROM " + quote(t.Name) + " WHERE " + t.Key + " = ?"
}

// ACMEGet implements store.ACMEStore.
func (s *Store) ACMEGet(ctx context.Context, table, key string) ([]byte, error) {
	if err := acmekv.Check(table, key, nil); err != nil {
		return nil, err
	}
	var v []byte
	err := s.w.Read(func() error {
		return s.sqlDB.QueryRowContext(ctx, acmeSelect(acmesql.For(table)), []byte(key)).Scan(&v)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, acmekv.NotFound(table, key)
	}
	if err != nil {
		return nil, s.db.Fail("acme get "+table, err)
	}
	return v, nil
}

func (s *Store) acmeReadOnly() error {
	if s.readOnly {
		return errs.E(errs.Unavailable, "the database is read-only (hot standby)", nil)
	}
	return nil
}

// ACMEUpdate implements store.ACMEStore: fn's reads lock their rows (and,
// for absent keys, the gap: InnoDB's next-key locks under REPEATABLE
// READ), so two CAs sharing the database serialize; a deadlock (1213) or
// lock wait timeout (1205) retries the transaction.
func (s *Store) ACMEUpdate(ctx context.Context, fn func(tx store.ACMETx) error) error {
	if err := s.acmeReadOnly(); err != nil {
		return err
	}
	var out error
	err := s.w.Read(func() error {
		out = acmekv.RunSQL(ctx, fn, func(ctx context.Context, attempt func(acmekv.SQLTx) error) error {
			tx, err := s.sqlDB.BeginTx(ctx, nil)
			if err != nil {
				return err
			}
			err = attempt(acmekv.SQLTx{
				Get: func(ctx context.Context, table, key string) ([]byte, bool, error) {
					var v []byte
					err := tx.QueryRowContext(ctx, acmeSelect(acmesql.For(table))+" FOR UPDATE", []byte(key)).Scan(&v)
					if errors.Is(err, sql.ErrNoRows) {
						return nil, false, nil
					}
					return v, err == nil, err
				},
				Put: func(ctx context.Context, table, key string, value []byte) error {
					t := acmesql.For(table)
					_, err := tx.ExecContext(ctx, acmeUpsert(t), t.Args(key, value)...)
					return err
				},
				Delete: func(ctx context.Context, table, key string) error {
					_, err := tx.ExecContext(ctx, acmeDelete(acmesql.For(table)), []byte(key))
					return err
				},
			})
			if err != nil {
				_ = tx.Rollback()
				return err
			}
			return tx.Commit()
		}, func(err error) bool {
			n := mysqlErrno(err)
			return n == 1213 || n == 1205
		})
		return nil
	})
	if err != nil {
		return s.db.Fail("acme update", err)
	}
	if out != nil && errs.As(out) == nil && mysqlErrno(out) != 0 {
		return s.db.Fail("acme update", out)
	}
	return out
}

// ACMEPut implements store.ACMEPutter: one upsert, committed on its own.
func (s *Store) ACMEPut(ctx context.Context, table, key string, value []byte) error {
	if err := acmekv.Check(table, key, value); err != nil {
		return err
	}
	if err := s.acmeReadOnly(); err != nil {
		return err
	}
	t := acmesql.For(table)
	err := s.w.Read(func() error {
		_, err := s.sqlDB.ExecContext(ctx, acmeUpsert(t), t.Args(key, value)...)
		return err
	})
	if err != nil {
		return s.db.Fail("acme put "+table, err)
	}
	return nil
}

// ACMEConsume implements store.ACMEStore: one DELETE, so of two CAs
// deleting one nonce exactly one sees the row.
func (s *Store) ACMEConsume(ctx context.Context, table, key string) (bool, error) {
	if err := acmekv.Check(table, key, nil); err != nil {
		return false, err
	}
	if err := s.acmeReadOnly(); err != nil {
		return false, err
	}
	var n int64
	err := s.w.Read(func() error {
		res, err := s.sqlDB.ExecContext(ctx, acmeDelete(acmesql.For(table)), []byte(key))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return false, s.db.Fail(fmt.Sprintf("acme consume %s", table), err)
	}
	return n == 1, nil
}

// ACMEScan implements store.ACMEScanner: pages of acmesql.ScanPage records
// in key order, each page one query, so nothing stays open while fn runs.
func (s *Store) ACMEScan(ctx context.Context, table string, fn func(key string, value []byte) error) error {
	if !store.IsACMETable(table) {
		return errs.Errorf(errs.Internal, "unknown ACME table %q", table)
	}
	t := acmesql.For(table)
	after := []byte{}
	for {
		var page []acmesql.Record
		err := s.w.Read(func() error {
			var err error
			page, err = scanPage(ctx, s.sqlDB, t, after)
			return err
		})
		if err != nil {
			return s.db.Fail("acme scan "+table, err)
		}
		for _, r := range page {
			if err := fn(string(r.Key), r.Value); err != nil {
				return err
			}
		}
		if len(page) < acmesql.ScanPage {
			return nil
		}
		after = page[len(page)-1].Key
	}
}

type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// scanPage reads the first acmesql.ScanPage records of t whose key is
// after after.
func scanPage(ctx context.Context, q queryer, t acmesql.Table, after []byte) ([]acmesql.Record, error) {
	rows, err := q.QueryContext(ctx, "SELECT "+t.Key+", "+t.Value+" FROM "+quote(t.Name)+" WHERE "+t.Key+" > ? ORDER BY "+t.Key+" LIMIT ?",
		after, acmesql.ScanPage)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var page []acmesql.Record
	for rows.Next() {
		var r acmesql.Record
		if err := rows.Scan(&r.Key, &r.Value); err != nil {
			return nil, err
		}
		page = append(page, r)
	}
	return page, rows.Err()
}

// sqlPruneNonces removes up to the second argument's nonces created
// before the first (by the created_at index), oldest first.
const sqlPruneNonces = `DELETE FROM nonces WHERE created_at < ? ORDER BY created_at LIMIT ?`

// pruneNonces deletes the nonces older than acmesql.NonceMaxAge.
func (s *Store) pruneNonces(ctx context.Context, now time.Time) error {
	return acmesql.PruneNonces(now, func(before time.Time, limit int) (int, error) {
		return s.w.Delete(ctx, "delete stale ACME nonces", store.TableACMENonces, s.stmts.pruneNonces, before, limit)
	})
}
