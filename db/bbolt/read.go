package bbolt

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/db/internal/steplayout"
)

// GetCertificate returns the x509_certs and x509_certs_data records of serial
// (Data is nil when the data record is absent). NotAfter and Subject come
// from the DER, Provisioner from the data JSON's provisioner.name.
func (s *Store) GetCertificate(ctx context.Context, serial string) (*store.Certificate, error) {
	what := "get certificate " + serial
	if err := ctxErr(ctx, what); err != nil {
		return nil, err
	}
	if err := checkKey("serial", serial); err != nil {
		return nil, err
	}
	var der, data []byte
	err := s.view(what, func(tx *bolt.Tx) error {
		var ok bool
		var err error
		if der, ok, err = get(tx, steplayout.TableCerts, serial); err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%s: table %s: %w", what, steplayout.TableCerts, store.ErrNotFound)
		}
		data, _, err = get(tx, steplayout.TableCertsData, serial)
		return err
	})
	if err != nil {
		return nil, err
	}
	c, err := steplayout.CertificateFromRecords(serial, der, data)
	if err != nil {
		return nil, fmt.Errorf("bbolt database %s: %w", s.path, err)
	}
	return c, nil
}

// GetRevocation returns the revoked_x509_certs record of serial.
func (s *Store) GetRevocation(ctx context.Context, serial string) (*store.Revocation, error) {
	what := "get revocation " + serial
	if err := ctxErr(ctx, what); err != nil {
		return nil, err
	}
	if err := checkKey("serial", serial); err != nil {
		return nil, err
	}
	var raw []byte
	err := s.view(what, func(tx *bolt.Tx) error {
		var ok bool
		var err error
		if raw, ok, err = get(tx, steplayout.TableRevokedCerts, serial); err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%s: table %s: %w", what, steplayout.TableRevokedCerts, store.ErrNotFound)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var r store.Revocation
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("bbolt database %s: table %s, serial %s: decode revocation: %w", s.path, steplayout.TableRevokedCerts, serial, err)
	}
	return &r, nil
}

// view runs fn in a read-only transaction unless the store is closed.
// store.ErrNotFound from fn is returned as is; other failures are
// errs.Unavailable.
func (s *Store) view(what string, fn func(tx *bolt.Tx) error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return s.errClosed()
	}
	err := s.db.View(fn)
	if err == nil || errors.Is(err, store.ErrNotFound) {
		return err
	}
	return unavailable(fmt.Errorf("bbolt database %s: %s: %w", s.path, what, err))
}

// get returns a copy of table[key] (bbolt's slices die with the
// transaction) and whether the key exists.
func get(tx *bolt.Tx, table, key string) ([]byte, bool, error) {
	b, err := bucket(tx, table)
	if err != nil {
		return nil, false, err
	}
	k, v := b.Cursor().Seek([]byte(key))
	if !bytes.Equal(k, []byte(key)) {
		return nil, false, nil
	}
	v = bytes.Clone(v)
	if v == nil {
		v = []byte{}
	}
	return v, true, nil
}
