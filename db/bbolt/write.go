package bbolt

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/db/internal/queued"
	"github.com/mayfly-pki/mayfly/db/internal/steplayout"
	"github.com/mayfly-pki/mayfly/internal/errs"
)

// UseToken records used_ott[key] = token unless key is present, in which
// case it returns store.ErrTokenUsed (wrapped), and returns once the record
// is durable. See useToken for how the check is made.
func (s *Store) UseToken(ctx context.Context, key string, token []byte) error {
	o, err := s.useToken(ctx, key, token, true)
	if err != nil {
		return err
	}
	select {
	case err := <-o.done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("%s: %w (the write may still complete)", o.what, ctx.Err())
	}
}

// UseTokenOrdered is UseToken without waiting for the commit
// (store.OrderedTokens): the write is queued before it returns, so any write
// acknowledged afterwards is committed in the same or a later transaction.
func (s *Store) UseTokenOrdered(ctx context.Context, key string, token []byte) error {
	_, err := s.useToken(ctx, key, token, false)
	return err
}

// useToken decides a token use at once: the key must be neither reserved
// (queued, not yet committed) nor in the committed file. It is then
// reserved and its write queued; the committer drops the reservation once
// the write is committed (a failed write keeps it, so the key stays used in
// this process). bbolt's flock keeps other processes from writing.
//
// Lock order: s.mu (read) before the reservation set. The committer only
// releases reservations, never while waiting for anything, so a writer
// blocked on a full queue cannot deadlock with it or with Close.
func (s *Store) useToken(ctx context.Context, key string, token []byte, waited bool) (*op, error) {
	if err := ctxErr(ctx, "use token"); err != nil {
		return nil, err
	}
	if err := checkKey("token key", key); err != nil {
		return nil, err
	}
	if err := checkValue("token", len(token)); err != nil {
		return nil, err
	}
	k, v := []byte(key), bytes.Clone(token)
	if v == nil {
		v = []byte{}
	}
	used := func() error {
		return fmt.Errorf("table %s, key %s: %w", steplayout.TableUsedOTT, key, store.ErrTokenUsed)
	}
	o := &op{what: "use token", waited: waited, apply: func(tx *bolt.Tx) (error, error) {
		b, err := bucket(tx, steplayout.TableUsedOTT)
		if err != nil {
			return nil, err
		}
		return nil, b.Put(k, v)
	}}
	o.committed = func() { s.reserved.Release(key) }

	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, s.errClosed()
	}
	ok, err := s.reserved.Reserve(key, func() (found bool, err error) {
		err = s.db.View(func(tx *bolt.Tx) error {
			b, err := bucket(tx, steplayout.TableUsedOTT)
			if err != nil {
				return err
			}
			found = exists(b, k)
			return nil
		})
		if err != nil {
			return false, unavailable(fmt.Errorf("bbolt database %s: use token: %w", s.path, err))
		}
		return found, nil
	})
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, used()
	}
	if err := s.enqueueLocked(ctx, o); err != nil {
		s.reserved.Release(key)
		return nil, err
	}
	return o, nil
}

// StoreCertificate writes x509_certs[serial] = DER and x509_certs_data[serial]
// = Data (overwriting an existing record, as step-ca does). The index fields
// of c are not stored: GetCertificate re-derives them.
func (s *Store) StoreCertificate(ctx context.Context, c *store.Certificate) error {
	if err := ctxErr(ctx, "store certificate"); err != nil {
		return err
	}
	o, err := certificateOp(c)
	if err != nil {
		return err
	}
	return s.submit(ctx, o)
}

// QueueCertificate implements store.QueuedCertificates: StoreCertificate's
// write, queued without waiting for it.
func (s *Store) QueueCertificate(ctx context.Context, c *store.Certificate) (func(context.Context) error, error) {
	if err := ctxErr(ctx, "store certificate"); err != nil {
		return nil, err
	}
	o, err := certificateOp(c)
	if err != nil {
		return nil, err
	}
	s.mu.RLock()
	err = s.enqueueLocked(ctx, o)
	s.mu.RUnlock()
	if err != nil {
		return nil, err
	}
	return queued.Wait(o.done, o.what), nil
}

// certificateOp checks c and returns the op that writes it.
func certificateOp(c *store.Certificate) (*op, error) {
	if c == nil {
		return nil, errs.Errorf(errs.BadRequest, "store certificate: no certificate")
	}
	if err := checkKey("serial", c.Serial); err != nil {
		return nil, err
	}
	if len(c.DER) == 0 {
		return nil, errs.Errorf(errs.BadRequest, "store certificate %s: empty DER", c.Serial)
	}
	if err := checkValue("certificate DER", len(c.DER)); err != nil {
		return nil, err
	}
	if err := checkValue("certificate data", len(c.Data)); err != nil {
		return nil, err
	}
	k, der, data := []byte(c.Serial), bytes.Clone(c.DER), bytes.Clone(c.Data)
	if data == nil {
		data = []byte{}
	}
	return &op{what: "store certificate " + c.Serial, apply: func(tx *bolt.Tx) (error, error) {
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
	}}, nil
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
// store.ErrTokenUsed, store.ErrAlreadyRevoked) and a failure. The committer
// may call it more than once, each time in a fresh transaction (when
// another write of its batch fails, the batch is rolled back and run
// again): it must decide from the transaction alone and keep no state
// between calls.
type writeFunc func(tx *bolt.Tx) (error, error)

// write hands fn to the committer and returns the outcome of its committed
// run once the batch is durable, or ctx's error if ctx ends first (the
// write may still commit).
func (s *Store) write(ctx context.Context, what string, fn writeFunc) error {
	return s.submit(ctx, &op{what: what, apply: fn})
}

// ctxErr returns ctx's error wrapped with what, or nil.
func ctxErr(ctx context.Context, what string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}
