package postgresql

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/db/internal/acmekv"
	"github.com/mayfly-pki/mayfly/internal/errs"
)

var _ store.ACMEStore = (*Store)(nil)

// quote returns table as a quoted identifier (the ACME tables keep
// step-ca's mixed-case bucket names). Only store.ACMETables names reach it.
func quote(table string) string { return `"` + table + `"` }

// ACMEGet implements store.ACMEStore.
func (s *Store) ACMEGet(ctx context.Context, table, key string) ([]byte, error) {
	if err := acmekv.Check(table, key, nil); err != nil {
		return nil, err
	}
	var v []byte
	err := s.w.Read(func() error {
		return s.pool.QueryRow(ctx, `SELECT nvalue FROM `+quote(table)+` WHERE nkey = $1`, []byte(key)).Scan(&v)
	})
	if errors.Is(err, pgx.ErrNoRows) {
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

// ACMEUpdate implements store.ACMEStore: fn runs in a SERIALIZABLE
// transaction, retried when PostgreSQL aborts it (40001, 40P01), so two CAs
// sharing the database cannot both act on one read.
func (s *Store) ACMEUpdate(ctx context.Context, fn func(tx store.ACMETx) error) error {
	if err := s.acmeReadOnly(); err != nil {
		return err
	}
	var out error
	err := s.w.Read(func() error {
		out = acmekv.RunSQL(ctx, fn, func(ctx context.Context, attempt func(acmekv.SQLTx) error) error {
			return pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.Serializable}, func(tx pgx.Tx) error {
				return attempt(acmekv.SQLTx{
					Get: func(ctx context.Context, table, key string) ([]byte, bool, error) {
						var v []byte
						err := tx.QueryRow(ctx, `SELECT nvalue FROM `+quote(table)+` WHERE nkey = $1 FOR UPDATE`, []byte(key)).Scan(&v)
						if errors.Is(err, pgx.ErrNoRows) {
							return nil, false, nil
						}
						return v, err == nil, err
					},
					Put: func(ctx context.Context, table, key string, value []byte) error {
						_, err := tx.Exec(ctx, `INSERT INTO `+quote(table)+` (nkey, nvalue) VALUES ($1, $2)
							ON CONFLICT (nkey) DO UPDATE SET nvalue = excluded.nvalue`, []byte(key), value)
						return err
					},
					Delete: func(ctx context.Context, table, key string) error {
						_, err := tx.Exec(ctx, `DELETE FROM `+quote(table)+` WHERE nkey = $1`, []byte(key))
						return err
					},
				})
			})
		}, func(err error) bool {
			st := sqlState(err)
			return st == "40001" || st == "40P01"
		})
		return nil
	})
	if err != nil {
		return s.db.Fail("acme update", err)
	}
	if out != nil && errs.As(out) == nil && sqlState(out) != "" {
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
		tag, err := s.pool.Exec(ctx, `DELETE FROM `+quote(table)+` WHERE nkey = $1`, []byte(key))
		n = tag.RowsAffected()
		return err
	})
	if err != nil {
		return false, s.db.Fail(fmt.Sprintf("acme consume %s", table), err)
	}
	return n == 1, nil
}
