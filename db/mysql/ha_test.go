package mysql

import (
	"context"
	"database/sql"
	"strconv"
	"testing"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/db/internal/sqltest"
)

// TestTwoInstances runs two stores (two CAs) on one database: one writes
// with autocommit statements, the other with group commit.
func TestTwoInstances(t *testing.T) {
	t.Parallel()
	name := newDatabase(t)
	batched := testOptions(name)
	batched.Committers = 2
	a, b := openTest(t, name), openWith(t, batched)
	defer a.Close()
	defer b.Close()
	sqltest.TwoInstances(t, a, b)
}

// TestRecoversFromKilledConnections kills every server connection of the
// store (KILL CONNECTION, as a server restart does) and checks that the
// next operations succeed at once, with and without group commit.
func TestRecoversFromKilledConnections(t *testing.T) {
	t.Parallel()
	eachDesign(t, func(t *testing.T, committers int) {
		name := newDatabase(t)
		opts := testOptions(name)
		opts.Committers = committers
		s := openWith(t, opts)
		defer s.Close()
		admin := adminDB(t)
		sqltest.RecoversFromKilledConnections(t, s, func(t *testing.T) int {
			return killConnections(t, admin, name)
		})
	})
}

// killConnections kills every connection to database name and returns how
// many it killed.
func killConnections(t *testing.T, admin *sql.DB, name string) int {
	ctx := context.Background()
	rows, err := admin.QueryContext(ctx, "SELECT id FROM information_schema.processlist WHERE db = ?", name)
	if err != nil {
		t.Fatalf("list connections: %v", err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if _, err := admin.ExecContext(ctx, "KILL CONNECTION "+strconv.FormatInt(id, 10)); err != nil {
			t.Fatalf("kill connection %d: %v", id, err)
		}
	}
	return len(ids)
}

// TestDroppedDatabaseIsUnavailable drops the database under the store:
// operations fail with errs.Unavailable naming the database.
func TestDroppedDatabaseIsUnavailable(t *testing.T) {
	t.Parallel()
	name := newDatabase(t)
	s := openTest(t, name)
	defer s.Close()
	if _, err := adminDB(t).ExecContext(context.Background(), "DROP DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	sqltest.DatabaseGone(t, s, "mysql database "+displayName(t, name))
}

// TestGroupCommitSharesCommits checks that concurrent writers share
// transactions instead of committing one by one.
func TestGroupCommitSharesCommits(t *testing.T) {
	t.Parallel()
	s := openFresh(t, 1)
	defer s.Close()
	sqltest.GroupCommitShares(t, s, s.w.Commits)
}

// TestBatchIsolatesAFailingWrite hands the committer one batch in which a
// statement fails (ER_BAD_NULL_ERROR, 1048): only that write fails.
func TestBatchIsolatesAFailingWrite(t *testing.T) {
	t.Parallel()
	s := openTest(t, newDatabase(t))
	defer s.Close()
	bad, err := s.sqlDB.PrepareContext(context.Background(), "INSERT INTO used_ott (token_key, token) VALUES (?, NULL)")
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	useToken := func(key string) op {
		return op{What: "use token", Table: "used_ott", Key: key, Stmt: s.stmts.useToken,
			Args: []any{[]byte(key), []byte("t"), nil}, Conflict: store.ErrTokenUsed}
	}
	badOp := op{What: "bad write", Table: "used_ott", Key: "b", Stmt: bad, Args: []any{[]byte("b")}}
	sqltest.BatchIsolatesAFailingWrite[*sql.Stmt](t, s, s.w, useToken, badOp, "1048")
}
