package badger

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	badgerdb "github.com/dgraph-io/badger/v4"

	"github.com/mayfly-pki/mayfly/authority/admin"
	"github.com/mayfly-pki/mayfly/db/internal/steplayout"
)

var _ admin.Store = (*Store)(nil)

// The admin tables are step-ca's admins and provisioners tables (ID →
// JSON record, step-ca's key layout) and mayfly_admin_version (version →
// 8 bytes big endian); before the first save they read as empty.

func readAdminVersion(txn interface {
	Get(k []byte) (*badgerdb.Item, error)
}) (int64, error) {
	item, err := txn.Get(recordKey(steplayout.TableAdminVersion, steplayout.AdminVersionKey))
	if errors.Is(err, badgerdb.ErrKeyNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("table %s: %w", steplayout.TableAdminVersion, err)
	}
	v, err := item.ValueCopy(nil)
	if err != nil {
		return 0, fmt.Errorf("table %s: read value: %w", steplayout.TableAdminVersion, err)
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("table %s: record is %d bytes, want 8", steplayout.TableAdminVersion, len(v))
	}
	return int64(binary.BigEndian.Uint64(v)), nil
}

// scanTable calls fn with the value of every record of bucket.
func scanTable(txn *badgerdb.Txn, bucket string, fn func(v []byte) error) error {
	prefix := tableMarker(bucket)
	it := txn.NewIterator(badgerdb.IteratorOptions{Prefix: prefix})
	defer it.Close()
	for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
		item := it.Item()
		if bytes.Equal(item.Key(), prefix) {
			continue // the table marker
		}
		v, err := item.ValueCopy(nil)
		if err != nil {
			return fmt.Errorf("table %s: read value: %w", bucket, err)
		}
		if err := fn(v); err != nil {
			return err
		}
	}
	return nil
}

// LoadAdmin implements admin.Store: one read transaction.
func (s *Store) LoadAdmin(ctx context.Context) (*admin.Records, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("load admin tables: %w", err)
	}
	r := &admin.Records{}
	err := s.view(func(txn *badgerdb.Txn) error {
		var err error
		*r = admin.Records{}
		if r.Version, err = readAdminVersion(txn); err != nil {
			return err
		}
		if err := scanTable(txn, steplayout.TableAdmins, func(v []byte) error {
			a, err := steplayout.DecodeAdmin(v)
			r.Admins = append(r.Admins, a)
			return err
		}); err != nil {
			return err
		}
		item, err := txn.Get(recordKey(steplayout.TableAuthorityPolicies, steplayout.PolicyKey))
		switch {
		case err == nil:
			if r.Policy, err = item.ValueCopy(nil); err != nil {
				return fmt.Errorf("table %s: read value: %w", steplayout.TableAuthorityPolicies, err)
			}
		case !errors.Is(err, badgerdb.ErrKeyNotFound):
			return fmt.Errorf("table %s: %w", steplayout.TableAuthorityPolicies, err)
		}
		return scanTable(txn, steplayout.TableProvisioners, func(v []byte) error {
			p, err := steplayout.DecodeProvisioner(v)
			r.Provisioners = append(r.Provisioners, p)
			return err
		})
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// AdminVersion implements admin.Store.
func (s *Store) AdminVersion(ctx context.Context) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("read admin version: %w", err)
	}
	var v int64
	err := s.view(func(txn *badgerdb.Txn) error {
		var err error
		v, err = readAdminVersion(txn)
		return err
	})
	return v, err
}

// SaveAdmin implements admin.Store, through the committer (and its
// write-ahead log): the version is checked in the transaction that writes.
func (s *Store) SaveAdmin(ctx context.Context, expect int64, c admin.Change) error {
	as, ps, err := steplayout.EncodeAdminRecords(c)
	policy := append([]byte(nil), c.Policy...)
	if err != nil {
		return err
	}
	return s.submit(ctx, &op{what: "save admin tables", apply: func(txn *wtxn) error {
		v, err := readAdminVersion(txn)
		if err != nil {
			return err
		}
		if v != expect {
			return fmt.Errorf("save admin tables at version %d, found %d: %w", expect, v, admin.ErrConflict)
		}
		for _, r := range as {
			if err := txn.Set(recordKey(steplayout.TableAdmins, r.ID), r.Data); err != nil {
				return err
			}
		}
		for _, r := range ps {
			if err := txn.Set(recordKey(steplayout.TableProvisioners, r.ID), r.Data); err != nil {
				return err
			}
		}
		if c.SetPolicy {
			k := recordKey(steplayout.TableAuthorityPolicies, steplayout.PolicyKey)
			var err error
			if len(policy) == 0 {
				err = txn.Delete(k)
			} else {
				err = txn.Set(k, policy)
			}
			if err != nil {
				return err
			}
		}
		var b [8]byte
		binary.BigEndian.PutUint64(b[:], uint64(expect+1))
		return txn.Set(recordKey(steplayout.TableAdminVersion, steplayout.AdminVersionKey), b[:])
	}})
}
