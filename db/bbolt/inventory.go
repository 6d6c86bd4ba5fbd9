package bbolt

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/db/internal/steplayout"
)

var _ store.Inventory = (*Store)(nil)

// ListCertificates implements store.Inventory inside one read transaction
// (bbolt readers never block the committer).
//
// Order: bbolt iterates the x509_certs bucket in byte order ("1", "10",
// "2"), while listings want store.CompareSerials order (shorter first, then
// bytes). Each call therefore walks every key of the bucket once (keys
// only: no value is copied, no DER parsed) and keeps the store.MaxListScan
// smallest keys after the cursor in CompareSerials order, with memory
// bounded by 2*MaxListScan key references (collect, then sort and truncate
// whenever the buffer fills). Only those records are then parsed (DER,
// provisioner from x509_certs_data, status from revoked_x509_certs), in
// order, until the page is full; a call that examined MaxListScan records
// returns a cursor at the last one. The key walk is O(n) per page: cheap
// next to parsing, but a very large table pays it on every page.
func (s *Store) ListCertificates(ctx context.Context, f store.CertificateFilter) ([]*store.CertificateInfo, string, error) {
	return s.listCertificates(ctx, f, store.MaxListScan)
}

// listCertificates is ListCertificates examining at most maxScan records.
func (s *Store) listCertificates(ctx context.Context, f store.CertificateFilter, maxScan int) ([]*store.CertificateInfo, string, error) {
	const what = "list certificates"
	if err := ctxErr(ctx, what); err != nil {
		return nil, "", err
	}
	if f.Cursor != "" {
		if err := checkKey("cursor", f.Cursor); err != nil {
			return nil, "", err
		}
	}
	limit := f.PageSize()
	var page []*store.CertificateInfo
	next := ""
	err := s.view(what, func(tx *bolt.Tx) error {
		page, next = nil, ""
		certs, err := bucket(tx, steplayout.TableCerts)
		if err != nil {
			return err
		}
		keys, err := smallestKeysAfter(ctx, certs, []byte(f.Cursor), maxScan)
		if err != nil {
			return err
		}
		for i, k := range keys {
			if i%256 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			info, err := certificateInfo(tx, string(k), certs.Get(k))
			if err != nil {
				return err
			}
			if f.Match(info) {
				if len(page) == limit {
					// A further match exists: the next page starts
					// after the last record returned.
					next = page[len(page)-1].Serial
					return nil
				}
				page = append(page, info)
			}
			if i+1 >= maxScan {
				next = string(k)
				return nil
			}
		}
		return nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", what, err)
	}
	return page, next, nil
}

// compareKeys is store.CompareSerials on byte slices (without converting
// them to strings).
func compareKeys(a, b []byte) int {
	switch {
	case len(a) < len(b):
		return -1
	case len(a) > len(b):
		return 1
	}
	return bytes.Compare(a, b)
}

// smallestKeysAfter returns, in store.CompareSerials order, up to n keys of
// b that sort after cursor (all keys when cursor is empty). The slices
// point into the transaction's pages: they are valid only until it ends.
func smallestKeysAfter(ctx context.Context, b *bolt.Bucket, cursor []byte, n int) ([][]byte, error) {
	var buf [][]byte
	seen := 0
	c := b.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		if seen++; seen%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		if len(cursor) > 0 && compareKeys(k, cursor) <= 0 {
			continue
		}
		if len(buf) == 2*n {
			slices.SortFunc(buf, compareKeys)
			buf = buf[:n]
		}
		buf = append(buf, k)
	}
	slices.SortFunc(buf, compareKeys)
	if len(buf) > n {
		buf = buf[:n]
	}
	return buf, nil
}

// certificateInfo builds the listing record of x509_certs[serial] = der.
func certificateInfo(tx *bolt.Tx, serial string, der []byte) (*store.CertificateInfo, error) {
	data, _, err := get(tx, steplayout.TableCertsData, serial)
	if err != nil {
		return nil, err
	}
	info, err := store.NewCertificateInfo(serial, der, steplayout.ProvisionerName(data))
	if err != nil {
		return nil, fmt.Errorf("table %s: %w", steplayout.TableCerts, err)
	}
	raw, ok, err := get(tx, steplayout.TableRevokedCerts, serial)
	if err != nil {
		return nil, err
	}
	if ok {
		var r store.Revocation
		if err := json.Unmarshal(raw, &r); err != nil {
			return nil, fmt.Errorf("table %s, serial %s: decode revocation: %w", steplayout.TableRevokedCerts, serial, err)
		}
		info.SetRevocation(&r)
	}
	return info, nil
}

// DeleteExpired implements store.Inventory: it finds, in one read
// transaction walking x509_certs in byte order (the choice among expired
// records is not specified), up to limit records whose NotAfter is before
// before, then deletes them and their x509_certs_data records through the
// committer (durable on return, ordered with every other write). It returns
// how many serials it picked: a record deleted meanwhile by another call is
// still counted. Revocations are kept.
func (s *Store) DeleteExpired(ctx context.Context, before time.Time, limit int) (int, error) {
	const what = "delete expired certificates"
	if err := ctxErr(ctx, what); err != nil {
		return 0, err
	}
	if limit <= 0 {
		limit = store.MaxListLimit
	}
	var serials [][]byte
	err := s.view(what, func(tx *bolt.Tx) error {
		serials = serials[:0]
		certs, err := bucket(tx, steplayout.TableCerts)
		if err != nil {
			return err
		}
		c := certs.Cursor()
		for k, der := c.First(); k != nil && len(serials) < limit; k, der = c.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			info, err := store.NewCertificateInfo(string(k), der, "")
			if err != nil {
				return fmt.Errorf("table %s: %w", steplayout.TableCerts, err)
			}
			if info.NotAfter.Before(before) {
				serials = append(serials, bytes.Clone(k))
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	if len(serials) == 0 {
		return 0, nil
	}
	err = s.write(ctx, fmt.Sprintf("delete %d expired certificates", len(serials)), func(tx *bolt.Tx) (error, error) {
		for _, table := range []string{steplayout.TableCerts, steplayout.TableCertsData} {
			b, err := bucket(tx, table)
			if err != nil {
				return nil, err
			}
			for _, k := range serials {
				if err := b.Delete(k); err != nil {
					return nil, fmt.Errorf("table %s, serial %s: %w", table, k, err)
				}
			}
		}
		return nil, nil
	})
	if err != nil {
		return 0, err
	}
	return len(serials), nil
}
