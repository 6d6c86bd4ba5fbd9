package postgresql

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/db/internal/acmekv"
)

// TestACMEWriteAllPipeline: the pipelined writes of an ACME transaction
// apply together, and a statement the database refuses (a key over the
// column's CHECK) fails the whole transaction: nothing queued before it in
// the pipeline stays.
func TestACMEWriteAllPipeline(t *testing.T) {
	t.Parallel()
	s := openTest(t, newSchema(t))
	defer s.Close()
	ctx := context.Background()

	run := func(writes []acmekv.Write) error {
		return pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.Serializable}, func(tx pgx.Tx) error {
			return acmeWriteAll(ctx, tx, writes)
		})
	}
	ok := []acmekv.Write{
		{Table: store.TableACMEOrders, Key: "o1", Value: []byte(`{"id":"o1","status":"pending"}`)},
		{Table: store.TableACMEAuthzs, Key: "a1", Value: []byte(`{"id":"a1","status":"pending"}`)},
		{Table: store.TableACMEAccountOrders, Key: "acc", Value: []byte(`["o1"]`)},
	}
	if err := run(ok); err != nil {
		t.Fatalf("pipeline: %v", err)
	}
	for _, w := range ok {
		got, err := s.ACMEGet(ctx, w.Table, w.Key)
		if err != nil || string(got) != string(w.Value) {
			t.Fatalf("%s[%s] = %q, %v; want %q", w.Table, w.Key, got, err, w.Value)
		}
	}
	bad := []acmekv.Write{
		{Table: store.TableACMEOrders, Key: "o2", Value: []byte(`{"id":"o2"}`)},
		{Table: store.TableACMEOrders, Key: "o1"}, // a delete
		{Table: store.TableACMEChallenges, Key: strings.Repeat("k", 300), Value: []byte(`{}`)},
	}
	if err := run(bad); err == nil {
		t.Fatal("a pipeline with a refused statement committed")
	}
	if _, err := s.ACMEGet(ctx, store.TableACMEOrders, "o2"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("o2 after the failed pipeline: %v, want not found", err)
	}
	if _, err := s.ACMEGet(ctx, store.TableACMEOrders, "o1"); err != nil {
		t.Fatalf("o1 after the failed pipeline (its delete rolled back): %v", err)
	}
}
