package bbolt

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/mayfly-pki/mayfly/db/internal/steplayout"

	bolt "go.etcd.io/bbolt"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/internal/errs"
)

// UseToken records used_ott[key] = token unless key is present, in which
// case it returns store.ErrTokenUsed (wrapped). Concurrent calls share one
// commit; two calls with one key in one batch see each other's write.
func (s *Store) UseToken(ctx context.Context, key string, token []byte) error {
	if err := ctxErr(ctx, "use token"); err != nil {
		return err
	}
	if err := checkKey("token key", key); err != nil {
		return err
	}
	if err := checkValue("token", len(token)); err != nil {
		return err
	}
	k, v := []byte(key), bytes.Clone(token)
	if v == nil {
		v = []byte{}
	}
	return s.write(ctx, "use token", func(tx *bolt.Tx) (error, error) {
		b, err := bucket(tx, steplayout.TableUsedOTT)
		if err != nil {
			return nil, err
		}
		if exists(b, k) {
			return fmt.Errorf("table %s, key %s: %w", steplayout.TableUsedOTT, key, store.ErrTokenUsed), nil
		}
		return nil, b.Put(k, v)
	})
}

// StoreCertificate writes x509_certs[serial] = DER and x509_certs_data[serial]
// = Data (overwriting an existing record, as step-ca does). The index fields
// of c are not stored: GetCertificate re-derives them.
func (s *Store) StoreCertificate(ctx context.Context, c *store.Certificate) error {
	if err := ctxErr(ctx, "store certificate"); err != nil {
		return err
	}
	if c == nil {
		return errs.Errorf(errs.BadRequest, "store certificate: no certificate")
	}
	if err := checkKey("serial", c.Serial); err != nil {
		return err
	}
	if len(c.DER) == 0 {
		return errs.Errorf(errs.BadRequest, "store certificate %s: empty DER", c.Serial)
	}
	if err := checkValue("certificate DER", len(c.DER)); err != nil {
		return err
	}
	if err := checkValue("certificate data", len(c.Data)); err != nil {
		return err
	}
	k, der, data := []byte(c.Serial), bytes.Clone(c.DER), bytes.Clone(c.Data)
	if data == nil {
		data = []byte{}
	}
	return s.write(ctx, "store certificate "+c.Serial, func(tx *bolt.Tx) (error, error) {
		certs, err := bucket(tx, steplayout.TableCerts)
		if err != nil {
			return nil, err
		}
		certsData, err := bucket(tx, steplayout.TableCertsData)
		if err != nil {
			return nil, err
		}
		if err := certs.Put(k, der); err != nil {
			return nil, err
		}
		return nil, certsData.Put(k, data)
	})
}

// Revoke writes revoked_x509_certs[r.Serial] as JSON with Go field names
// unless the serial is already revoked (store.ErrAlreadyRevoked, wrapped).
func (s *Store) Revoke(ctx context.Context, r *store.Revocation) error {
	if err := ctxErr(ctx, "revoke"); err != nil {
		return err
	}
	if r == nil {
		return errs.Errorf(errs.BadRequest, "revoke: no revocation")
	}
	if err := checkKey("serial", r.Serial); err != nil {
		return err
	}
	v, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("revoke %s: encode revocation: %w", r.Serial, err)
	}
	if err := checkValue("revocation", len(v)); err != nil {
		return err
	}
	k, serial := []byte(r.Serial), r.Serial
	return s.write(ctx, "revoke "+serial, func(tx *bolt.Tx) (error, error) {
		b, err := bucket(tx, steplayout.TableRevokedCerts)
		if err != nil {
			return nil, err
		}
		if exists(b, k) {
			return fmt.Errorf("table %s, serial %s: %w", steplayout.TableRevokedCerts, serial, store.ErrAlreadyRevoked), nil
		}
		return nil, b.Put(k, v)
	})
}

// exists reports whether b holds key (an empty value counts: Get's nil
// cannot tell a missing key from an empty value).
func exists(b *bolt.Bucket, key []byte) bool {
	k, _ := b.Cursor().Seek(key)
	return bytes.Equal(k, key)
}

// writeFunc is one write. It returns the write's outcome (nil,
// store.ErrTokenUsed, store.ErrAlreadyRevoked) and a failure. db.Batch may
// call it several times, each time in a fresh transaction: it must decide
// from the transaction alone and keep no state between calls.
type writeFunc func(tx *bolt.Tx) (error, error)

// write runs fn through db.Batch and returns the outcome of its committed
// run. The batch runs on its own goroutine so that the caller can stop
// waiting when ctx ends (the write may still commit); that goroutine holds
// the store's read lock until the batch is done, so Close waits for it.
func (s *Store) write(ctx context.Context, what string, fn writeFunc) error {
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return s.errClosed()
	}
	done := make(chan error, 1)
	go func() {
		defer s.mu.RUnlock()
		var outcome error
		err := s.db.Batch(func(tx *bolt.Tx) error {
			s.runs.Add(1)
			var failure error
			outcome, failure = fn(tx)
			return failure
		})
		if err != nil {
			done <- unavailable(fmt.Errorf("bbolt database %s: %s: %w", s.path, what, err))
			return
		}
		done <- outcome
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("%s: %w (the write may still complete)", what, ctx.Err())
	}
}

// ctxErr returns ctx's error wrapped with what, or nil.
func ctxErr(ctx context.Context, what string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}
