package mysql

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/mayfly-pki/mayfly/db/internal/sqlcommit"
	"github.com/mayfly-pki/mayfly/db/internal/sqlstore"
)

// op is one write: its statement is prepared.
type op = sqlcommit.Op[*sql.Stmt]

// dialect is the committer's view of the connection pool: transactions run
// their statements one round trip after another (autocommit statements,
// through ExecOne, by default).
type dialect struct {
	sqlstore.DB
	db *sql.DB
}

var (
	_ sqlcommit.Dialect[*sql.Stmt] = dialect{}
	_ sqlcommit.Direct[*sql.Stmt]  = dialect{}
)

func (d dialect) Begin(ctx context.Context) (sqlcommit.Tx[*sql.Stmt], bool, error) {
	t, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, connectionLost(err), fmt.Errorf("begin: %w", err)
	}
	return tx{t}, false, nil
}

// Retryable: a deadlock or a lock wait timeout (the server rolled the
// transaction back).
func (d dialect) Retryable(err error) bool { return retryable(err) }

// Reset does nothing: database/sql replaces broken connections itself.
func (d dialect) Reset() {}

// ExecOne runs o as one autocommit statement.
func (d dialect) ExecOne(ctx context.Context, o *op) (int64, error) {
	res, err := o.Stmt.ExecContext(ctx, o.Args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (d dialect) ConnectionLost(err error) bool { return connectionLost(err) }

// tx is one transaction.
type tx struct{ t *sql.Tx }

func (t tx) Exec(ctx context.Context, ops []*op, rows []int64) error {
	for i, o := range ops {
		res, err := t.t.StmtContext(ctx, o.Stmt).ExecContext(ctx, o.Args...)
		if err == nil {
			rows[i], err = res.RowsAffected()
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (t tx) Commit(context.Context) error { return t.t.Commit() }

func (t tx) Rollback(context.Context) { _ = t.t.Rollback() }

func (t tx) Lost(err error) bool { return connectionLost(err) }

func (t tx) Release() {}
