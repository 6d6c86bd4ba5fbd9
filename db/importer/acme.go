package importer

import (
	"bytes"
	"context"
	"errors"
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

// ACMERecords implements acmeSource for a Mayfly store that can list its
// ACME tables (store.ACMEScanner: every backend); another store carries
// none.
func (s storeSource) ACMERecords(ctx context.Context, fn func(table, key string, value []byte) error) error {
	sc, ok := s.st.(store.ACMEScanner)
	if !ok {
		return nil
	}
	for _, t := range store.ACMETables() {
		if t == store.TableACMENonces {
			continue
		}
		err := sc.ACMEScan(ctx, t, func(key string, value []byte) error { return fn(t, key, value) })
		if err != nil {
			return fmt.Errorf("source %s: table %s: %w", s.name, t, err)
		}
	}
	return nil
}

// acmeBatch is how many ACME records one transaction writes.
const acmeBatch = 256

// importACME copies src's ACME records into dst when both sides support
// them: a record already in dst with the same value is left alone (and
// counted as present), any other is written (the records are step-ca's
// JSON, which the ACME server reads as they are). It returns the records
// written and present.
func importACME(ctx context.Context, dst store.Store, src Source) (written, present int, err error) {
	as, ok := src.(acmeSource)
	if !ok {
		return 0, 0, nil
	}
	ad, ok := dst.(store.ACMEStore)
	if !ok {
		return 0, 0, nil
	}
	type rec struct {
		table, key string
		value      []byte
	}
	var batch []rec
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		var w, p int
		err := ad.ACMEUpdate(ctx, func(tx store.ACMETx) error {
			w, p = 0, 0
			for _, r := range batch {
				if cur, err := tx.Get(r.table, r.key); err == nil && bytes.Equal(cur, r.value) {
					p++
					continue
				} else if err != nil && !errors.Is(err, store.ErrNotFound) {
					return err
				}
				tx.Put(r.table, r.key, r.value)
				w++
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("write ACME records: %w", err)
		}
		written, present = written+w, present+p
		batch = batch[:0]
		return nil
	}
	err = as.ACMERecords(ctx, func(table, key string, value []byte) error {
		batch = append(batch, rec{table, key, value})
		if len(batch) == acmeBatch {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	return written, present, err
}
