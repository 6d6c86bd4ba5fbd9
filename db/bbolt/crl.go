package bbolt

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/db/internal/steplayout"
)

var _ store.CRLStore = (*Store)(nil)

// ListRevocations reads revoked_x509_certs in one read transaction.
func (s *Store) ListRevocations(ctx context.Context, notExpiredBefore time.Time, fn func(*store.Revocation) error) error {
	if err := ctxErr(ctx, "list revocations"); err != nil {
		return err
	}
	var fnErr error
	err := s.view("list revocations", func(tx *bolt.Tx) error {
		b, err := bucket(tx, steplayout.TableRevokedCerts)
		if err != nil {
			return err
		}
		var r store.Revocation
		var f steplayout.CRLFields
		c := b.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			f = steplayout.CRLFields{}
			if err := json.Unmarshal(v, &f); err != nil {
				return fmt.Errorf("table %s, serial %s: decode revocation: %w", steplayout.TableRevokedCerts, k, err)
			}
			if !f.ExpiresAt.IsZero() && f.ExpiresAt.Before(notExpiredBefore) {
				continue
			}
			r = store.Revocation{Serial: f.Serial, ReasonCode: f.ReasonCode, RevokedAt: f.RevokedAt, ExpiresAt: f.ExpiresAt}
			if fnErr = fn(&r); fnErr != nil {
				return nil
			}
		}
		return ctx.Err()
	})
	if err != nil {
		return err
	}
	return fnErr
}

// NextCRLNumber takes the next number in x509_crl (see
// steplayout.NextCRLNumber) through the committer: durable on return.
func (s *Store) NextCRLNumber(ctx context.Context) (int64, error) {
	var n int64
	err := s.write(ctx, "take CRL number", func(tx *bolt.Tx) (error, error) {
		b, err := bucket(tx, steplayout.TableCRL)
		if err != nil {
			return nil, err
		}
		next, v, err := steplayout.NextCRLNumber(b.Get([]byte(steplayout.KeyCRLNumber)), b.Get([]byte(steplayout.KeyCRL)))
		if err != nil {
			return nil, err
		}
		n = next
		return nil, b.Put([]byte(steplayout.KeyCRLNumber), v)
	})
	return n, err
}
