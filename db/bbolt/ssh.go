package bbolt

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/db/internal/steplayout"
	"github.com/mayfly-pki/mayfly/internal/errs"
)

var _ store.SSHStore = (*Store)(nil)

// StoreSSHCertificate writes c's step-ca records (steplayout.SSHCertificateRecords)
// in one transaction through the committer.
func (s *Store) StoreSSHCertificate(ctx context.Context, c *store.SSHCertificate) error {
	if err := ctxErr(ctx, "store ssh certificate"); err != nil {
		return err
	}
	recs, err := steplayout.CheckedSSHRecords(c, checkKey, checkValue)
	if err != nil {
		return err
	}
	return s.write(ctx, "store ssh certificate "+c.Serial, func(tx *bolt.Tx) (error, error) {
		for _, r := range recs {
			b, err := bucket(tx, r.Table)
			if err != nil {
				return nil, err
			}
			if err := b.Put([]byte(r.Key), r.Value); err != nil {
				return nil, err
			}
		}
		return nil, nil
	})
}

// GetSSHCertificate returns ssh_certs[serial], or store.ErrNotFound.
func (s *Store) GetSSHCertificate(ctx context.Context, serial string) (*store.SSHCertificate, error) {
	raw, err := s.getRecord(ctx, "get ssh certificate "+serial, steplayout.TableSSHCerts, serial)
	if err != nil {
		return nil, err
	}
	return &store.SSHCertificate{Serial: serial, Wire: raw}, nil
}

// getRecord reads table[key], or store.ErrNotFound.
func (s *Store) getRecord(ctx context.Context, what, table, key string) ([]byte, error) {
	if err := ctxErr(ctx, what); err != nil {
		return nil, err
	}
	if err := checkKey("serial", key); err != nil {
		return nil, err
	}
	var raw []byte
	err := s.view(what, func(tx *bolt.Tx) error {
		var ok bool
		var err error
		if raw, ok, err = get(tx, table, key); err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%s: table %s: %w", what, table, store.ErrNotFound)
		}
		return nil
	})
	return raw, err
}

// RevokeSSH writes revoked_ssh_certs[r.Serial] unless present
// (store.ErrAlreadyRevoked, wrapped).
func (s *Store) RevokeSSH(ctx context.Context, r *store.Revocation) error {
	if err := ctxErr(ctx, "revoke ssh"); err != nil {
		return err
	}
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
	k, serial := []byte(r.Serial), r.Serial
	return s.write(ctx, "revoke ssh "+serial, func(tx *bolt.Tx) (error, error) {
		b, err := bucket(tx, steplayout.TableRevokedSSHCert)
		if err != nil {
			return nil, err
		}
		if exists(b, k) {
			return fmt.Errorf("table %s, serial %s: %w", steplayout.TableRevokedSSHCert, serial, store.ErrAlreadyRevoked), nil
		}
		return nil, b.Put(k, v)
	})
}

// GetSSHRevocation returns revoked_ssh_certs[serial], or store.ErrNotFound.
func (s *Store) GetSSHRevocation(ctx context.Context, serial string) (*store.Revocation, error) {
	raw, err := s.getRecord(ctx, "get ssh revocation "+serial, steplayout.TableRevokedSSHCert, serial)
	if err != nil {
		return nil, err
	}
	var r store.Revocation
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("bbolt database %s: table %s, serial %s: decode revocation: %w", s.path, steplayout.TableRevokedSSHCert, serial, err)
	}
	return &r, nil
}

// scan calls fn with each record of table, in key order.
func (s *Store) scan(ctx context.Context, what, table string, fn func(k string, v []byte) error) error {
	if err := ctxErr(ctx, what); err != nil {
		return err
	}
	return s.view(what, func(tx *bolt.Tx) error {
		b, err := bucket(tx, table)
		if err != nil {
			return err
		}
		return b.ForEach(func(k, v []byte) error {
			return fn(string(k), bytes.Clone(v))
		})
	})
}

// ListSSHRevocations returns every revoked_ssh_certs record.
func (s *Store) ListSSHRevocations(ctx context.Context) ([]*store.Revocation, error) {
	var out []*store.Revocation
	err := s.scan(ctx, "list ssh revocations", steplayout.TableRevokedSSHCert, func(k string, v []byte) error {
		var r store.Revocation
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("table %s, serial %s: decode revocation: %w", steplayout.TableRevokedSSHCert, k, err)
		}
		out = append(out, &r)
		return nil
	})
	return out, err
}

// ListSSHHosts returns every ssh_host_principals record, in key order.
func (s *Store) ListSSHHosts(ctx context.Context) ([]store.SSHHost, error) {
	var out []store.SSHHost
	err := s.scan(ctx, "list ssh hosts", steplayout.TableSSHPrincipals, func(k string, v []byte) error {
		h, err := steplayout.ParseSSHHost(k, v)
		if err != nil {
			return err
		}
		out = append(out, h)
		return nil
	})
	return out, err
}

var _ store.SSHScanner = (*Store)(nil)

// scanPage is how many records one read transaction of scanPaged reads.
const scanPage = 500

// scanPaged calls fn with each record of table in key order, reading a page
// per read transaction so that none stays open while fn runs (a bbolt
// writer waits for no reader, but a long read pins the file's old pages).
// A missing bucket is an error unless missingOK (then it holds nothing).
func (s *Store) scanPaged(ctx context.Context, what, table string, missingOK bool, fn func(k string, v []byte) error) error {
	type rec struct {
		key   string
		value []byte
	}
	var after []byte
	for {
		if err := ctxErr(ctx, what); err != nil {
			return err
		}
		var page []rec
		err := s.view(what, func(tx *bolt.Tx) error {
			page = page[:0]
			b, err := bucket(tx, table)
			if err != nil {
				if missingOK {
					return nil
				}
				return err
			}
			c := b.Cursor()
			k, v := c.First()
			if after != nil {
				k, v = c.Seek(after)
				if bytes.Equal(k, after) {
					k, v = c.Next()
				}
			}
			for ; k != nil && len(page) < scanPage; k, v = c.Next() {
				if v == nil {
					continue // a nested bucket
				}
				page = append(page, rec{string(k), bytes.Clone(v)})
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, r := range page {
			if err := fn(r.key, r.value); err != nil {
				return err
			}
		}
		if len(page) < scanPage {
			return nil
		}
		after = []byte(page[len(page)-1].key)
	}
}

// SSHScanCertificates implements store.SSHScanner over ssh_certs.
func (s *Store) SSHScanCertificates(ctx context.Context, fn func(*store.SSHCertificate) error) error {
	return s.scanPaged(ctx, "ssh certificate scan", steplayout.TableSSHCerts, false, func(k string, v []byte) error {
		return fn(&store.SSHCertificate{Serial: k, Wire: v})
	})
}

// SSHScanRevocations implements store.SSHScanner over revoked_ssh_certs.
func (s *Store) SSHScanRevocations(ctx context.Context, fn func(*store.Revocation) error) error {
	return s.scanPaged(ctx, "ssh revocation scan", steplayout.TableRevokedSSHCert, false, func(k string, v []byte) error {
		r, err := steplayout.ParseSSHRevocation(k, v)
		if err != nil {
			return fmt.Errorf("bbolt database %s: %w", s.path, err)
		}
		return fn(r)
	})
}
