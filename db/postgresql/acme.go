package postgresql

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

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

// quote returns table as a quoted identifier (the ACME tables keep
// step-ca's mixed-case bucket names). Only store.ACMETables names reach it.
func quote(table string) string { return `"` + table + `"` }

// The statements of one ACME table (acmesql.For: a schema-7 table with
// extracted columns, or a key/value index table).

func acmeSelect(t acmesql.Table) string {
	return `SELECT ` + t.Value + ` FROM ` + quote(t.Name) + ` WHERE ` + t.Key + ` = $1`
}

func acmeUpsert(t acmesql.Table) string {
	cols := t.AllColumns()
	params := make([]string, len(cols))
	set := make([]string, 0, len(cols)-1)
	for i, c := range cols {
		params[i] = "$" + strconv.Itoa(i+1)
		if i > 0 {
			set = append(set, c+" = excluded."+c)
		}
	}
	return `INSERT INTO ` + quote(t.Name) + ` (` + strings.Join(cols, ", ") + `) VALUES (` + strings.Join(params, ", ") +
		`) ON CONFLICT (` + t.Key + `) DO UPDATE SET ` + strings.Join(set, ", ")
}

func acmeDelete(t acmesql.Table) string {
	return `DELETE FROM ` + quote(t.Name) + ` WHERE ` + t.Key + ` = $1`
}

// ACMEGet implements store.ACMEStore.
func (s *Store) ACMEGet(ctx context.Context, table, key string) ([]byte, error) {
	if err := acmekv.Check(table, key, nil); err != nil {
		return nil, err
	}
	var v []byte
	err := s.w.Read(func() error {
		return s.pool.QueryRow(ctx, acmeSelect(acmesql.For(table)), []byte(key)).Scan(&v)
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
						err := tx.QueryRow(ctx, acmeSelect(acmesql.For(table))+` FOR UPDATE`, []byte(key)).Scan(&v)
						if errors.Is(err, pgx.ErrNoRows) {
							return nil, false, nil
						}
						return v, err == nil, err
					},
					Put: func(ctx context.Context, table, key string, value []byte) error {
						t := acmesql.For(table)
						_, err := tx.Exec(ctx, acmeUpsert(t), t.Args(key, value)...)
						return err
					},
					Delete: func(ctx context.Context, table, key string) error {
						_, err := tx.Exec(ctx, acmeDelete(acmesql.For(table)), []byte(key))
						return err
					},
					WriteAll: func(ctx context.Context, writes []acmekv.Write) error {
						return acmeWriteAll(ctx, tx, writes)
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

// acmeWriteAll sends writes as one pipeline (pgx.Batch) in tx: one round
// trip for an order with its authorizations and challenges, not one each.
// The first failed statement's error is returned; the transaction is then
// aborted, and rolled back by the caller.
func acmeWriteAll(ctx context.Context, tx pgx.Tx, writes []acmekv.Write) error {
	b := &pgx.Batch{}
	for _, w := range writes {
		t := acmesql.For(w.Table)
		if w.Value == nil {
			b.Queue(acmeDelete(t), []byte(w.Key))
		} else {
			b.Queue(acmeUpsert(t), t.Args(w.Key, w.Value)...)
		}
	}
	return tx.SendBatch(ctx, b).Close()
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
		_, err := s.pool.Exec(ctx, acmeUpsert(t), t.Args(key, value)...)
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
		tag, err := s.pool.Exec(ctx, acmeDelete(acmesql.For(table)), []byte(key))
		n = tag.RowsAffected()
		return err
	})
	if err != nil {
		return false, s.db.Fail(fmt.Sprintf("acme consume %s", table), err)
	}
	return n == 1, nil
}

// ACMEScan implements store.ACMEScanner: pages of acmesql.ScanPage records
// in key order, each page one query, so no transaction stays open while
// fn runs.
func (s *Store) ACMEScan(ctx context.Context, table string, fn func(key string, value []byte) error) error {
	if !store.IsACMETable(table) {
		return errs.Errorf(errs.Internal, "unknown ACME table %q", table)
	}
	t := acmesql.For(table)
	q := `SELECT ` + t.Key + `, ` + t.Value + ` FROM ` + quote(t.Name) + ` WHERE ` + t.Key + ` > $1 ORDER BY ` + t.Key + ` LIMIT $2`
	after := []byte{}
	for {
		var page []acmesql.Record
		err := s.w.Read(func() error {
			page = page[:0]
			rows, err := s.pool.Query(ctx, q, after, acmesql.ScanPage)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var r acmesql.Record
				if err := rows.Scan(&r.Key, &r.Value); err != nil {
					return err
				}
				page = append(page, r)
			}
			return rows.Err()
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

// sqlPruneNonces removes up to $2 nonces created before $1 (by the
// created_at index), skipping rows another transaction holds (a nonce
// being consumed).
const sqlPruneNonces = `DELETE FROM nonces WHERE id IN (
	SELECT id FROM nonces WHERE created_at < $1 ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED)`

// pruneNonces deletes the nonces older than acmesql.NonceMaxAge.
func (s *Store) pruneNonces(ctx context.Context, now time.Time) error {
	return acmesql.PruneNonces(now, func(before time.Time, limit int) (int, error) {
		return s.w.Delete(ctx, "delete stale ACME nonces", store.TableACMENonces, sqlPruneNonces, before, limit)
	})
}
