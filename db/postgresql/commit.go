package postgresql

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mayfly-pki/mayfly/db/internal/sqlcommit"
	"github.com/mayfly-pki/mayfly/db/internal/sqlstore"
)

// op is one write: its statement is SQL text.
type op = sqlcommit.Op[string]

// dialect is the committer's view of the pool: a transaction sends BEGIN
// and every statement in one round trip (a pgx batch), then COMMIT.
type dialect struct {
	sqlstore.DB
	pool *pgxpool.Pool
}

var _ sqlcommit.Dialect[string] = dialect{}

// Begin acquires a connection; BEGIN itself goes with the statements.
func (d dialect) Begin(ctx context.Context) (sqlcommit.Tx[string], bool, error) {
	conn, err := d.pool.Acquire(ctx)
	if err != nil {
		return nil, true, fmt.Errorf("connect: %w", err)
	}
	return &tx{conn: conn}, false, nil
}

func (d dialect) Retryable(err error) bool { return retryable(err) }

// Reset empties the pool: a server restart or failover breaks every
// connection, not only the one that failed.
func (d dialect) Reset() { d.pool.Reset() }

// tx is one pipelined transaction on conn.
type tx struct {
	conn *pgxpool.Conn
	tx   pgx.Tx
}

// Exec sends BEGIN and every statement in one round trip and reads the
// affected-row counts.
func (t *tx) Exec(ctx context.Context, ops []*op, rows []int64) error {
	b := &pgx.Batch{}
	b.BeginTx(pgx.TxOptions{})
	for _, o := range ops {
		b.Queue(o.Stmt, o.Args...)
	}
	br := t.conn.SendBatch(ctx, b)
	_, err := br.Exec() // BEGIN
	for i := 0; i < len(ops) && err == nil; i++ {
		var tag pgconn.CommandTag
		tag, err = br.Exec()
		rows[i] = tag.RowsAffected()
	}
	if closeErr := br.Close(); err == nil {
		err = closeErr
	}
	t.tx = br.Tx()
	return err
}

func (t *tx) Commit(ctx context.Context) error { return t.tx.Commit(ctx) }

func (t *tx) Rollback(ctx context.Context) {
	if t.tx != nil && !t.conn.Conn().IsClosed() {
		_ = t.tx.Rollback(ctx)
	}
}

// Lost reports whether the connection broke, whatever err says.
func (t *tx) Lost(error) bool { return t.conn.Conn().IsClosed() }

func (t *tx) Release() { t.conn.Release() }
