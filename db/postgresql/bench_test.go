package postgresql

import (
	"context"
	"strconv"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/db/dbtest"
	"github.com/mayfly-pki/mayfly/db/internal/sqltest"
)

// benchStore opens a store on a fresh schema with a pool large enough for
// every design compared below.
func benchStore(b *testing.B, committers int) *Store {
	b.Helper()
	opts := newSchema(b).options()
	opts.DataSource = withParam(opts.DataSource, "pool_max_conns", "70")
	opts.Committers = committers
	return openWith(b, opts)
}

func commits(s *Store) int64 { return s.w.Commits() }

// BenchmarkStoreCertificate measures one committed StoreCertificate (a
// ~400 B DER and its data JSON) with the default options, from one writer
// and from sqltest.BenchParallelism×GOMAXPROCS writers.
func BenchmarkStoreCertificate(b *testing.B) {
	sqltest.BenchWrite(b, func(b *testing.B) *Store { return benchStore(b, 0) }, commits, sqltest.StoreCertificates)
}

// BenchmarkUseToken measures one committed UseToken of a new key.
func BenchmarkUseToken(b *testing.B) {
	sqltest.BenchWrite(b, func(b *testing.B) *Store { return benchStore(b, 0) }, commits, sqltest.UseTokens)
}

// autocommit returns the op of the autocommit design: the write's statement
// run directly on a pooled connection by each writer.
func autocommit(b *testing.B, s *Store, write string) func(int64) {
	tmpl := dbtest.NewCertificates(b).New(b, dbtest.Serial(0))
	return func(i int64) {
		var (
			sql  string
			args []any
		)
		switch n := strconv.FormatInt(i, 10); write {
		case "StoreCertificate":
			sql, args = sqlStoreCertificate, []any{n, tmpl.DER, tmpl.Data, tmpl.NotAfter, tmpl.Subject, tmpl.Provisioner}
		default:
			sql, args = sqlUseToken, []any{[]byte("jti-" + n), sqltest.BenchToken, nil}
		}
		exec(b, s.pool, sql, args...)
	}
}

func exec(b *testing.B, pool *pgxpool.Pool, sql string, args ...any) {
	tag, err := pool.Exec(context.Background(), sql, args...)
	if err != nil || tag.RowsAffected() != 1 {
		b.Fatalf("autocommit write: %v (%d rows)", err, tag.RowsAffected())
	}
}

// BenchmarkDesign compares, at 16 and 64 concurrent writers, the group
// commit with 1, 2 and 4 committers against autocommit writes on one pooled
// connection per writer (which relies on PostgreSQL sharing WAL flushes
// between concurrent commits). Run with -bench Design.
func BenchmarkDesign(b *testing.B) {
	ops := []struct {
		name string
		op   func(*testing.B, store.Store) func(int64)
	}{{"StoreCertificate", sqltest.StoreCertificates}, {"UseToken", sqltest.UseTokens}}
	designs := []struct {
		name       string
		committers int // 0: autocommit
	}{{"autocommit", 0}, {"committers=1", 1}, {"committers=2", 2}, {"committers=4", 4}}
	for _, o := range ops {
		for _, writers := range []int{0, 16, 64} {
			for _, d := range designs {
				b.Run(o.name+"/writers="+strconv.Itoa(writers)+"/"+d.name, func(b *testing.B) {
					s := benchStore(b, max(1, d.committers))
					defer s.Close()
					op := o.op(b, s)
					if d.committers == 0 {
						op = autocommit(b, s, o.name)
					}
					sqltest.RunBench(b, s.w.Commits, writers, op)
				})
			}
		}
	}
}
