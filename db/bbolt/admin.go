package bbolt

import (
	"context"
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/mayfly-pki/mayfly/authority/admin"
	"github.com/mayfly-pki/mayfly/db/internal/steplayout"
)

var _ admin.Store = (*Store)(nil)

// The admin tables are step-ca's admins and provisioners buckets (ID →
// JSON record) and mayfly_admin_version (version → 8 bytes big endian),
// created by the first save; before it they read as empty.

func adminVersion(tx *bolt.Tx) int64 {
	b := tx.Bucket([]byte(steplayout.TableAdminVersion))
	if b == nil {
		return 0
	}
	v := b.Get([]byte(steplayout.AdminVersionKey))
	if len(v) != 8 {
		return 0
	}
	return int64(binary.BigEndian.Uint64(v))
}

// LoadAdmin implements admin.Store: one read transaction.
func (s *Store) LoadAdmin(ctx context.Context) (*admin.Records, error) {
	if err := ctxErr(ctx, "load admin tables"); err != nil {
		return nil, err
	}
	r := &admin.Records{}
	err := s.view("load admin tables", func(tx *bolt.Tx) error {
		*r = admin.Records{Version: adminVersion(tx)}
		if b := tx.Bucket([]byte(steplayout.TableAdmins)); b != nil {
			if err := b.ForEach(func(_, v []byte) error {
				a, err := steplayout.DecodeAdmin(v)
				r.Admins = append(r.Admins, a)
				return err
			}); err != nil {
				return err
			}
		}
		if b := tx.Bucket([]byte(steplayout.TableAuthorityPolicies)); b != nil {
			if v := b.Get([]byte(steplayout.PolicyKey)); v != nil {
				r.Policy = append([]byte(nil), v...)
			}
		}
		if b := tx.Bucket([]byte(steplayout.TableProvisioners)); b != nil {
			return b.ForEach(func(_, v []byte) error {
				p, err := steplayout.DecodeProvisioner(v)
				r.Provisioners = append(r.Provisioners, p)
				return err
			})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// AdminVersion implements admin.Store.
func (s *Store) AdminVersion(ctx context.Context) (int64, error) {
	if err := ctxErr(ctx, "read admin version"); err != nil {
		return 0, err
	}
	var v int64
	err := s.view("read admin version", func(tx *bolt.Tx) error {
		v = adminVersion(tx)
		return nil
	})
	return v, err
}

// SaveAdmin implements admin.Store, through the committer: the version is
// checked in the transaction that writes.
func (s *Store) SaveAdmin(ctx context.Context, expect int64, c admin.Change) error {
	if err := ctxErr(ctx, "save admin tables"); err != nil {
		return err
	}
	as, ps, err := steplayout.EncodeAdminRecords(c)
	if err != nil {
		return err
	}
	return s.write(ctx, "save admin tables", func(tx *bolt.Tx) (error, error) {
		if v := adminVersion(tx); v != expect {
			return fmt.Errorf("save admin tables at version %d, found %d: %w", expect, v, admin.ErrConflict), nil
		}
		put := func(table string, recs []steplayout.AdminRecord) error {
			b, err := tx.CreateBucketIfNotExists([]byte(table))
			if err != nil {
				return err
			}
			for _, r := range recs {
				if err := b.Put([]byte(r.ID), r.Data); err != nil {
					return err
				}
			}
			return nil
		}
		if err := put(steplayout.TableAdmins, as); err != nil {
			return nil, err
		}
		if err := put(steplayout.TableProvisioners, ps); err != nil {
			return nil, err
		}
		if c.SetPolicy {
			b, err := tx.CreateBucketIfNotExists([]byte(steplayout.TableAuthorityPolicies))
			if err != nil {
				return nil, err
			}
			if len(c.Policy) == 0 {
				err = b.Delete([]byte(steplayout.PolicyKey))
			} else {
				err = b.Put([]byte(steplayout.PolicyKey), append([]byte(nil), c.Policy...))
			}
			if err != nil {
				return nil, err
			}
		}
		var v [8]byte
		binary.BigEndian.PutUint64(v[:], uint64(expect+1))
		return nil, put(steplayout.TableAdminVersion, []steplayout.AdminRecord{{ID: steplayout.AdminVersionKey, Data: v[:]}})
	})
}
