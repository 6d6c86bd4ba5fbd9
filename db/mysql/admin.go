package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/mayfly-pki/mayfly/authority/admin"
	"github.com/mayfly-pki/mayfly/db/internal/sqlstore"
	"github.com/mayfly-pki/mayfly/db/internal/steplayout"
)

var _ admin.Store = (*Store)(nil)

// adminSQL is MySQL's upserts of the admin tables.
var adminSQL = sqlstore.AdminSQL{
	UpsertAdmin:       `INSERT INTO admins (id, data) VALUES (?, ?) ON DUPLICATE KEY UPDATE data = VALUES(data)`,
	UpsertProvisioner: `INSERT INTO provisioners (id, data) VALUES (?, ?) ON DUPLICATE KEY UPDATE data = VALUES(data)`,
	UpsertPolicy:      `INSERT INTO authority_policies (id, data) VALUES (?, ?) ON DUPLICATE KEY UPDATE data = VALUES(data)`,
	DeletePolicy:      `DELETE FROM authority_policies WHERE id = ?`,
}

// LoadAdmin implements admin.Store: one read-only repeatable-read
// transaction (one InnoDB snapshot).
func (s *Store) LoadAdmin(ctx context.Context) (*admin.Records, error) {
	r := &admin.Records{}
	err := s.read(ctx, "load admin tables", func() error {
		*r = admin.Records{}
		tx, err := s.sqlDB.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
		if err != nil {
			return err
		}
		defer func() { _ = tx.Rollback() }()
		if err := tx.QueryRowContext(ctx, `SELECT version FROM mayfly_admin_version WHERE id = 1`).Scan(&r.Version); err != nil {
			return err
		}
		if err := sqlstore.ReadAdminTables(func(q string) (sqlstore.Rows, func(), error) {
			rows, err := tx.QueryContext(ctx, q)
			if err != nil {
				return nil, nil, err
			}
			return rows, func() { _ = rows.Close() }, nil
		}, r); err != nil {
			return err
		}
		return tx.Commit()
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// AdminVersion implements admin.Store.
func (s *Store) AdminVersion(ctx context.Context) (int64, error) {
	var v int64
	err := s.read(ctx, "read admin version", func() error {
		return s.sqlDB.QueryRowContext(ctx, `SELECT version FROM mayfly_admin_version WHERE id = 1`).Scan(&v)
	})
	return v, err
}

var errConflict = errors.New("admin version moved")

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
	err = s.w.Read(func() error {
		tx, err := s.sqlDB.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer func() { _ = tx.Rollback() }()
		res, err := tx.ExecContext(ctx, `UPDATE mayfly_admin_version SET version = version + 1 WHERE id = 1 AND version = ?`, expect)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n != 1 {
			return errConflict
		}
		if err := sqlstore.WriteAdminChange(func(q string, args ...any) error {
			_, err := tx.ExecContext(ctx, q, args...)
			return err
		}, adminSQL, as, ps, c); err != nil {
			return err
		}
		return tx.Commit()
	})
	if errors.Is(err, errConflict) {
		return fmt.Errorf("save admin tables at version %d: %w", expect, admin.ErrConflict)
	}
	if err != nil {
		return s.db.Fail("save admin tables", err)
	}
	return nil
}
