package badger

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	badgerdb "github.com/dgraph-io/badger/v4"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/db/internal/steplayout"
	"github.com/mayfly-pki/mayfly/internal/errs"
)

var (
	_ store.Inventory  = (*Store)(nil)
	_ store.Maintainer = (*Store)(nil)
)

// gcDiscardRatio is the share of a value-log file that must be garbage
// before Maintain rewrites it (badger's recommended 0.5).
const gcDiscardRatio = 0.5

// ListCertificates implements store.Inventory. It iterates x509_certs in key
// order inside one read transaction (a snapshot: the committer keeps
// writing meanwhile). Keys are u16le(len(serial)) || serial and serials are
// below 256 bytes, so key order is store.CompareSerials order: numeric for
// decimal serials. Every DER is parsed (there is no secondary index), the
// provisioner comes from x509_certs_data and the status from
// revoked_x509_certs. At most store.MaxListScan records are examined per call.
func (s *Store) ListCertificates(ctx context.Context, f store.CertificateFilter) ([]*store.CertificateInfo, string, error) {
	if err := ctx.Err(); err != nil {
		return nil, "", fmt.Errorf("list certificates: %w", err)
	}
	if f.Cursor != "" {
		if err := checkKey("cursor", f.Cursor); err != nil {
			return nil, "", err
		}
	}
	limit := f.PageSize()
	var page []*store.CertificateInfo
	next := ""
	err := s.view(func(txn *badgerdb.Txn) error {
		page, next = nil, ""
		scanned := 0
		return s.scanCerts(txn, f.Cursor, func(serial string, der []byte) (bool, error) {
			if err := ctx.Err(); err != nil {
				return false, err
			}
			scanned++
			info, err := s.certificateInfo(txn, serial, der)
			if err != nil {
				return false, err
			}
			if f.Match(info) {
				if len(page) == limit {
					// A further match exists: the next page starts
					// after the last record returned.
					next = page[len(page)-1].Serial
					return false, nil
				}
				page = append(page, info)
			}
			if scanned >= store.MaxListScan {
				next = serial
				return false, nil
			}
			return true, nil
		})
	})
	if err != nil {
		return nil, "", fmt.Errorf("list certificates: %w", err)
	}
	return page, next, nil
}

// certificateInfo builds the listing record of one x509_certs entry.
func (s *Store) certificateInfo(txn *badgerdb.Txn, serial string, der []byte) (*store.CertificateInfo, error) {
	data, err := get(txn, steplayout.TableCertsData, serial)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	info, err := store.NewCertificateInfo(serial, der, steplayout.ProvisionerName(data))
	if err != nil {
		return nil, fmt.Errorf("table %s: %w", steplayout.TableCerts, err)
	}
	raw, err := get(txn, steplayout.TableRevokedCerts, serial)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return nil, err
	default:
		var r store.Revocation
		if err := json.Unmarshal(raw, &r); err != nil {
			return nil, fmt.Errorf("table %s, serial %s: decode revocation: %w", steplayout.TableRevokedCerts, serial, err)
		}
		info.SetRevocation(&r)
	}
	return info, nil
}

// scanCerts calls fn for every x509_certs record after the serial after
// ("" = from the start), in key order, until fn returns false or an error.
// der is only valid during the call.
func (s *Store) scanCerts(txn *badgerdb.Txn, after string, fn func(serial string, der []byte) (bool, error)) error {
	prefix := tableMarker(steplayout.TableCerts)
	opts := badgerdb.DefaultIteratorOptions
	opts.Prefix = prefix
	opts.PrefetchSize = 64
	it := txn.NewIterator(opts)
	defer it.Close()
	seek := prefix
	if after != "" {
		seek = recordKey(steplayout.TableCerts, after)
	}
	for it.Seek(seek); it.ValidForPrefix(prefix); it.Next() {
		item := it.Item()
		serial, ok := serialOf(item.Key(), len(prefix))
		if !ok || (after != "" && serial == after) {
			continue // the table marker, or the cursor itself
		}
		var cont bool
		err := item.Value(func(der []byte) error {
			var err error
			cont, err = fn(serial, der)
			return err
		})
		if err != nil {
			return err
		}
		if !cont {
			return nil
		}
	}
	return nil
}

// serialOf decodes the record key of a table whose prefix is n bytes long;
// ok is false for the table marker or a malformed key.
func serialOf(key []byte, n int) (string, bool) {
	if len(key) < n+2 {
		return "", false
	}
	l := int(binary.LittleEndian.Uint16(key[n:]))
	if len(key) != n+2+l || l == 0 {
		return "", false
	}
	return string(key[n+2:]), true
}

// DeleteExpired implements store.Inventory: it finds, in one read
// transaction, up to limit x509_certs records whose NotAfter is before
// before, then deletes them and their x509_certs_data records through the
// committer (durable on return, ordered with every other write).
// Revocations are kept.
func (s *Store) DeleteExpired(ctx context.Context, before time.Time, limit int) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("delete expired certificates: %w", err)
	}
	if limit <= 0 {
		limit = store.MaxListLimit
	}
	var serials []string
	err := s.view(func(txn *badgerdb.Txn) error {
		serials = serials[:0]
		return s.scanCerts(txn, "", func(serial string, der []byte) (bool, error) {
			if err := ctx.Err(); err != nil {
				return false, err
			}
			notAfter, err := notAfterOf(der)
			if err != nil {
				return false, fmt.Errorf("table %s, serial %s: %w", steplayout.TableCerts, serial, err)
			}
			if notAfter.Before(before) {
				serials = append(serials, serial)
			}
			return len(serials) < limit, nil
		})
	})
	if err != nil {
		return 0, fmt.Errorf("delete expired certificates: %w", err)
	}
	if len(serials) == 0 {
		return 0, nil
	}
	keys := make([][]byte, 0, 2*len(serials))
	for _, sn := range serials {
		keys = append(keys, recordKey(steplayout.TableCerts, sn), recordKey(steplayout.TableCertsData, sn))
	}
	err = s.submit(ctx, &op{what: fmt.Sprintf("delete %d expired certificates", len(serials)), apply: func(txn *wtxn) error {
		for _, k := range keys {
			if err := txn.Delete(k); err != nil {
				return err
			}
		}
		return nil
	}})
	if err != nil {
		return 0, err
	}
	return len(serials), nil
}

// Maintain implements store.Maintainer: it deletes the used_ott records of
// tokens that expired more than usedTokenGrace ago (they can no longer be
// replayed: expired tokens are refused before their use is looked up), then
// runs badger's value-log garbage collection (discard ratio 0.5) until badger
// finds nothing to rewrite.
// badger allows one GC at a time; a concurrent call gets badger's
// ErrRejected, wrapped. Close waits for a running round.
func (s *Store) Maintain(ctx context.Context) error {
	if _, err := s.pruneAllUsedTokens(ctx, time.Now().Add(-usedTokenGrace)); err != nil {
		return fmt.Errorf("badger database %s: prune used tokens: %w", s.dir, err)
	}
	for rounds := 0; ; rounds++ {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("badger database %s: value-log GC: %w", s.dir, err)
		}
		err := s.gcOnce()
		if errors.Is(err, badgerdb.ErrNoRewrite) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func (s *Store) gcOnce() error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return s.errClosed()
	}
	err := s.db.RunValueLogGC(gcDiscardRatio)
	if err == nil || errors.Is(err, badgerdb.ErrNoRewrite) {
		return err
	}
	return errs.E(errs.Internal, "value-log GC failed", fmt.Errorf("badger database %s: value-log GC: %w", s.dir, oneLine{err}))
}

// notAfterOf returns the NotAfter of a DER certificate.
func notAfterOf(der []byte) (time.Time, error) {
	info, err := store.NewCertificateInfo("", der, "")
	if err != nil {
		return time.Time{}, err
	}
	return info.NotAfter, nil
}
