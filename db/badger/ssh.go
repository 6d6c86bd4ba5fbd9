package badger

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	badgerdb "github.com/dgraph-io/badger/v4"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/db/internal/steplayout"
	"github.com/mayfly-pki/mayfly/internal/errs"
)

var _ store.SSHStore = (*Store)(nil)

// StoreSSHCertificate writes c's step-ca records (steplayout.SSHCertificateRecords)
// in one transaction through the committer.
func (s *Store) StoreSSHCertificate(ctx context.Context, c *store.SSHCertificate) error {
	recs, err := steplayout.CheckedSSHRecords(c, checkKey, checkValue)
	if err != nil {
		return err
	}
	type kv struct{ k, v []byte }
	writes := make([]kv, 0, len(recs))
	for _, r := range recs {
		writes = append(writes, kv{recordKey(r.Table, r.Key), r.Value})
	}
	return s.submit(ctx, &op{what: "store ssh certificate " + c.Serial, apply: func(txn *wtxn) error {
		for _, w := range writes {
			if err := txn.Set(w.k, w.v); err != nil {
				return err
			}
		}
		return nil
	}})
}

// GetSSHCertificate returns ssh_certs[serial] (Serial and Wire), or
// store.ErrNotFound.
func (s *Store) GetSSHCertificate(ctx context.Context, serial string) (*store.SSHCertificate, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("get ssh certificate %s: %w", serial, err)
	}
	if err := checkKey("serial", serial); err != nil {
		return nil, err
	}
	var wire []byte
	err := s.view(func(txn *badgerdb.Txn) error {
		var err error
		wire, err = get(txn, steplayout.TableSSHCerts, serial)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("get ssh certificate %s: %w", serial, err)
	}
	return &store.SSHCertificate{Serial: serial, Wire: wire}, nil
}

// RevokeSSH writes revoked_ssh_certs[r.Serial] unless present
// (store.ErrAlreadyRevoked, wrapped).
func (s *Store) RevokeSSH(ctx context.Context, r *store.Revocation) error {
	if r == nil {
		return errs.Errorf(errs.BadRequest, "revoke ssh: no revocation")
	}
	if err := checkKey("serial", r.Serial); err != nil {
		return err
	}
	v, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("revoke ssh %s: encode revocation: %w", r.Serial, err)
	}
	k := recordKey(steplayout.TableRevokedSSHCert, r.Serial)
	serial := r.Serial
	return s.submit(ctx, &op{what: "revoke ssh " + serial, apply: func(txn *wtxn) error {
		found, err := exists(txn, k)
		if err != nil {
			return err
		}
		if found {
			return fmt.Errorf("table %s, serial %s: %w", steplayout.TableRevokedSSHCert, serial, store.ErrAlreadyRevoked)
		}
		return txn.Set(k, v)
	}})
}

// GetSSHRevocation returns revoked_ssh_certs[serial], or store.ErrNotFound.
func (s *Store) GetSSHRevocation(ctx context.Context, serial string) (*store.Revocation, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("get ssh revocation %s: %w", serial, err)
	}
	if err := checkKey("serial", serial); err != nil {
		return nil, err
	}
	var raw []byte
	err := s.view(func(txn *badgerdb.Txn) error {
		var err error
		raw, err = get(txn, steplayout.TableRevokedSSHCert, serial)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("get ssh revocation %s: %w", serial, err)
	}
	var r store.Revocation
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("badger database %s: table %s, serial %s: decode revocation: %w", s.dir, steplayout.TableRevokedSSHCert, serial, err)
	}
	return &r, nil
}

// scanTable calls fn with each record of table, in key order.
func (s *Store) scanTable(ctx context.Context, table string, fn func(key string, v []byte) error) error {
	prefix := tableMarker(table)
	return s.view(func(txn *badgerdb.Txn) error {
		opts := badgerdb.DefaultIteratorOptions
		opts.Prefix = prefix
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Rewind(); it.ValidForPrefix(prefix); it.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			key, ok := serialOf(it.Item().Key(), len(prefix))
			if !ok {
				continue
			}
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return fmt.Errorf("table %s: read value: %w", table, err)
			}
			if err := fn(key, v); err != nil {
				return err
			}
		}
		return nil
	})
}

// ListSSHRevocations returns every revoked_ssh_certs record.
func (s *Store) ListSSHRevocations(ctx context.Context) ([]*store.Revocation, error) {
	var out []*store.Revocation
	err := s.scanTable(ctx, steplayout.TableRevokedSSHCert, func(key string, v []byte) error {
		var r store.Revocation
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("table %s, serial %s: decode revocation: %w", steplayout.TableRevokedSSHCert, key, err)
		}
		out = append(out, &r)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list ssh revocations: %w", err)
	}
	return out, nil
}

// ListSSHHosts returns every ssh_host_principals record, in key order.
func (s *Store) ListSSHHosts(ctx context.Context) ([]store.SSHHost, error) {
	var out []store.SSHHost
	err := s.scanTable(ctx, steplayout.TableSSHPrincipals, func(key string, v []byte) error {
		h, err := steplayout.ParseSSHHost(key, v)
		if err != nil {
			return err
		}
		out = append(out, h)
		return nil
	})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("list ssh hosts: %w", err)
	}
	return out, nil
}

var _ store.SSHScanner = (*Store)(nil)

// scanPage is how many records one read transaction of scanPaged reads.
const scanPage = 500

// scanPaged calls fn with each record of table in Badger key order (key
// length, then bytes), reading a page per read transaction so that none
// stays open while fn runs.
func (s *Store) scanPaged(ctx context.Context, what, table string, fn func(key string, v []byte) error) error {
	prefix := tableMarker(table)
	seek := prefix
	type rec struct {
		key   string
		value []byte
	}
	for {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		var page []rec
		var last []byte
		err := s.view(func(txn *badgerdb.Txn) error {
			page, last = page[:0], nil
			it := txn.NewIterator(badgerdb.IteratorOptions{Prefix: prefix, PrefetchValues: true, PrefetchSize: 100})
			defer it.Close()
			for it.Seek(seek); it.ValidForPrefix(prefix) && len(page) < scanPage; it.Next() {
				k := it.Item().KeyCopy(nil)
				if bytes.Equal(k, seek) {
					continue // the table marker, or the previous page's last record
				}
				key, ok := serialOf(k, len(prefix))
				if !ok {
					continue
				}
				v, err := it.Item().ValueCopy(nil)
				if err != nil {
					return fmt.Errorf("table %s: read value: %w", table, err)
				}
				page = append(page, rec{key, v})
				last = k
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		for _, r := range page {
			if err := fn(r.key, r.value); err != nil {
				return err
			}
		}
		if len(page) < scanPage {
			return nil
		}
		seek = last
	}
}

// SSHScanCertificates implements store.SSHScanner over ssh_certs.
func (s *Store) SSHScanCertificates(ctx context.Context, fn func(*store.SSHCertificate) error) error {
	return s.scanPaged(ctx, "ssh certificate scan", steplayout.TableSSHCerts, func(key string, v []byte) error {
		return fn(&store.SSHCertificate{Serial: key, Wire: v})
	})
}

// SSHScanRevocations implements store.SSHScanner over revoked_ssh_certs.
func (s *Store) SSHScanRevocations(ctx context.Context, fn func(*store.Revocation) error) error {
	return s.scanPaged(ctx, "ssh revocation scan", steplayout.TableRevokedSSHCert, func(key string, v []byte) error {
		r, err := steplayout.ParseSSHRevocation(key, v)
		if err != nil {
			return fmt.Errorf("badger database %s: %w", s.dir, err)
		}
		return fn(r)
	})
}
