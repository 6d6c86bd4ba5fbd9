package postgresql

import (
	"context"
	"testing"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/db/internal/sqltest"
)

// TestTwoInstances runs two stores (two CAs) on one database.
func TestTwoInstances(t *testing.T) {
	t.Parallel()
	tg := newSchema(t)
	a, b := openTest(t, tg), openTest(t, tg)
	defer a.Close()
	defer b.Close()
	sqltest.TwoInstances(t, a, b)
}

// TestRecoversFromTerminatedConnections terminates every server connection
// of the store (pg_terminate_backend, as a server restart or failover
// does): the next operations succeed at once.
func TestRecoversFromTerminatedConnections(t *testing.T) {
	t.Parallel()
	tg := newDatabase(t)
	s := openTest(t, tg)
	defer s.Close()
	admin := adminConn(t)
	sqltest.RecoversFromKilledConnections(t, s, func(t *testing.T) int {
		var killed int
		if err := admin.QueryRow(context.Background(), `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
			WHERE datname = $1 AND pid <> pg_backend_pid()`, tg.database).Scan(&killed); err != nil {
			t.Fatalf("terminate backends: %v", err)
		}
		return killed
	})
}

// TestServerDownIsUnavailable drops the database under a store: operations
// fail with errs.Unavailable naming the database.
func TestServerDownIsUnavailable(t *testing.T) {
	t.Parallel()
	tg := newDatabase(t)
	s := openTest(t, tg)
	defer s.Close()
	if _, err := adminConn(t).Exec(context.Background(), "DROP DATABASE "+tg.database+" WITH (FORCE)"); err != nil {
		t.Fatal(err)
	}
	sqltest.DatabaseGone(t, s, "postgresql database "+tg.name(t))
}

// TestGroupCommitSharesCommits checks that concurrent writers share
// transactions instead of committing one by one.
func TestGroupCommitSharesCommits(t *testing.T) {
	t.Parallel()
	s := openTest(t, newSchema(t))
	defer s.Close()
	sqltest.GroupCommitShares(t, s, s.w.Commits)
}

// TestBatchIsolatesAFailingWrite hands the committer one batch in which a
// statement fails (a not-null violation, SQLSTATE 23502): only that write
// fails.
func TestBatchIsolatesAFailingWrite(t *testing.T) {
	t.Parallel()
	s := openTest(t, newSchema(t))
	defer s.Close()
	useToken := func(key string) op {
		return op{What: "use token", Table: "used_ott", Key: key, Stmt: sqlUseToken,
			Args: []any{[]byte(key), []byte("t"), nil}, Conflict: store.ErrTokenUsed}
	}
	bad := op{What: "bad write", Table: "used_ott", Key: "b",
		Stmt: "INSERT INTO used_ott (token_key, token) VALUES ($1, NULL)", Args: []any{[]byte("b")}}
	sqltest.BatchIsolatesAFailingWrite[string](t, s, s.w, useToken, bad, "23502")
}
