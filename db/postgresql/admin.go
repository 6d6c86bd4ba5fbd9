package postgresql

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mayfly-pki/mayfly/authority/admin"
	"github.com/mayfly-pki/mayfly/db/internal/sqlstore"
	"github.com/mayfly-pki/mayfly/db/internal/steplayout"
)

var _ admin.Store = (*Store)(nil)

// adminSQL is PostgreSQL's upserts of the admin tables.
var adminSQL = sqlstore.AdminSQL{
	UpsertAdmin: `INSERT INTO admins (id, data) VALUES ($1, $2)
		ON CONFLICT (id) DO UPDATE SET data = excluded.data`,
	UpsertProvisioner: `INSERT INTO provisioners (id, data) VALUES ($1, $2)
		ON CONFLICT (id) DO UPDATE SET data = excluded.data`,
	UpsertPolicy: `INSERT INTO authority_policies (id, data) VALUES ($1, $2)
		ON CONFLICT (id) DO UPDATE SET data = excluded.data`,
	DeletePolicy: `DELETE FROM authority_policies WHERE id = $1`,
}

// LoadAdmin implements admin.Store: one repeatable-read transaction.
func (s *Store) LoadAdmin(ctx context.Context) (*admin.Records, error) {
	r := &admin.Records{}
	err := s.read(ctx, "load admin tables", func(conn *pgxpool.Conn) error {
		*r = admin.Records{}
		return pgx.BeginTxFunc(ctx, conn, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
			if err := tx.QueryRow(ctx, `SELECT version FROM mayfly_admin_version WHERE id = 1`).Scan(&r.Version); err != nil {
				return err
			}
			return sqlstore.ReadAdminTables(func(q string) (sqlstore.Rows, func(), error) {
				rows, err := tx.Query(ctx, q)
				if err != nil {
					return nil, nil, err
				}
				return rows, rows.Close, nil
			}, r)
		})
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// AdminVersion implements admin.Store.
func (s *Store) AdminVersion(ctx context.Context) (int64, error) {
	var v int64
	err := s.read(ctx, "read admin version", func(conn *pgxpool.Conn) error {
		return conn.QueryRow(ctx, `SELECT version FROM mayfly_admin_version WHERE id = 1`).Scan(&v)
	})
	return v, err
}

// SaveAdmin implements admin.Store: one transaction that first moves the
// version row from expect (the row lock orders concurrent saves; the
// loser finds the version moved and writes nothing).
func (s *Store) SaveAdmin(ctx context.Context, expect int64, c admin.Change) error {
	if s.readOnly {
		return s.db.ReadOnly("save admin tables")
	}
	as, ps, err := steplayout.EncodeAdminRecords(c)
	if err != nil {
		return err
	}
	var conflict bool
	err = s.w.Read(func() error {
		return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			tag, err := tx.Exec(ctx, `UPDATE mayfly_admin_version SET version = version + 1 WHERE id = 1 AND version = $1`, expect)
			if err != nil {
				return err
			}
			if tag.RowsAffected() != 1 {
				conflict = true
				return errConflict
			}
			return sqlstore.WriteAdminChange(func(q string, args ...any) error {
				_, err := tx.Exec(ctx, q, args...)
				return err
			}, adminSQL, as, ps, c)
		})
	})
	if conflict {
		return fmt.Errorf("save admin tables at version %d: %w", expect, admin.ErrConflict)
	}
	if err != nil {
		return s.db.Fail("save admin tables", err)
	}
	return nil
}

var errConflict = fmt.Errorf("admin version moved")
