package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/db/internal/acmekv"
	"github.com/mayfly-pki/mayfly/internal/errs"
)

var _ store.ACMEStore = (*Store)(nil)

// quote returns table as a quoted identifier; only store.ACMETables names
// reach it.
func quote(table string) string { return "`" + table + "`" }

// ACMEGet implements store.ACMEStore.
func (s *Store) ACMEGet(ctx context.Context, table, key string) ([]byte, error) {
	if err := acmekv.Check(table, key, nil); err != nil {
		return nil, err
	}
	var v []byte
	err := s.w.Read(func() error {
		return s.sqlDB.QueryRowContext(ctx, "SELECT nvalue FROM "+quote(table)+" WHERE nkey = ?", []byte(key)).Scan(&v)
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
					err := tx.QueryRowContext(ctx, "SELECT nvalue FROM "+quote(table)+" WHERE nkey = ? FOR UPDATE", []byte(key)).Scan(&v)
					if errors.Is(err, sql.ErrNoRows) {
						return nil, false, nil
					}
					return v, err == nil, err
				},
				Put: func(ctx context.Context, table, key string, value []byte) error {
					_, err := tx.ExecContext(ctx, "INSERT INTO "+quote(table)+" (nkey, nvalue) VALUES (?, ?) ON DUPLICATE KEY UPDATE nvalue = VALUES(nvalue)", []byte(key), value)
					return err
				},
				Delete: func(ctx context.Context, table, key string) error {
					_, err := tx.ExecContext(ctx, "DELETE FROM "+quote(table)+" WHERE nkey = ?", []byte(key))
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
		res, err := s.sqlDB.ExecContext(ctx, "DELETE FROM "+quote(table)+" WHERE nkey = ?", []byte(key))
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
