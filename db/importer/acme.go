package importer

import (
	"context"
	"fmt"

	"github.com/mayfly-pki/mayfly/authority/store"
)

// acmeSource is implemented by sources that carry step-ca's ACME tables
// (wire-spec §6.4).
type acmeSource interface {
	// ACMERecords yields every record of the ACME tables but nonces (which
	// are single use and short lived).
	ACMERecords(ctx context.Context, fn func(table, key string, value []byte) error) error
}

// ACMERecords implements acmeSource: step-ca's ACME buckets, each optional
// (a step-ca that never served ACME has none).
func (s stepSource) ACMERecords(ctx context.Context, fn func(table, key string, value []byte) error) error {
	for _, t := range store.ACMETables() {
		if t == store.TableACMENonces {
			continue
		}
		err := s.db.scan(ctx, t, true, func(key, value []byte) error {
			if len(key) == 0 {
				return fmt.Errorf("table %s: a record has an empty key", t)
			}
			return fn(t, string(key), value)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// acmeBatch is how many ACME records one transaction writes.
const acmeBatch = 256

// importACME copies src's ACME records into dst (overwriting: the records
// are step-ca's JSON, which the ACME server reads as they are) when both
// sides support them; it returns the number of records written.
func importACME(ctx context.Context, dst store.Store, src Source) (int, error) {
	as, ok := src.(acmeSource)
	if !ok {
		return 0, nil
	}
	ad, ok := dst.(store.ACMEStore)
	if !ok {
		return 0, nil
	}
	type rec struct {
		table, key string
		value      []byte
	}
	var batch []rec
	n := 0
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := ad.ACMEUpdate(ctx, func(tx store.ACMETx) error {
			for _, r := range batch {
				tx.Put(r.table, r.key, r.value)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("write ACME records: %w", err)
		}
		n += len(batch)
		batch = batch[:0]
		return nil
	}
	err := as.ACMERecords(ctx, func(table, key string, value []byte) error {
		batch = append(batch, rec{table, key, value})
		if len(batch) == acmeBatch {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	return n, err
}
