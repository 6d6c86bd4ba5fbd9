package memory

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/mayfly-pki/mayfly/authority/store"
)

var _ store.Inventory = (*Store)(nil)

// ListCertificates implements store.Inventory. Records are listed in
// store.CompareSerials order; none is ever revoked (this store keeps no
// revocations). The store is locked for reading while a page is built.
func (s *Store) ListCertificates(ctx context.Context, f store.CertificateFilter) ([]*store.CertificateInfo, string, error) {
	if err := ctx.Err(); err != nil {
		return nil, "", fmt.Errorf("list certificates: %w", err)
	}
	limit := f.PageSize()
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, "", errClosed()
	}
	serials := s.sortedSerials(f.Cursor)
	var page []*store.CertificateInfo
	for _, sn := range serials {
		c := s.certs[sn]
		info, err := store.NewCertificateInfo(sn, c.DER, c.Provisioner)
		if err != nil {
			return nil, "", fmt.Errorf("list certificates: in-memory database: %w", err)
		}
		if !f.Match(info) {
			continue
		}
		if len(page) == limit {
			return page, page[len(page)-1].Serial, nil
		}
		page = append(page, info)
	}
	return page, "", nil
}

// sortedSerials returns the serials after cursor in store.CompareSerials
// order. The caller holds s.mu.
func (s *Store) sortedSerials(after string) []string {
	out := make([]string, 0, len(s.certs))
	for sn := range s.certs {
		if after == "" || store.CompareSerials(sn, after) > 0 {
			out = append(out, sn)
		}
	}
	slices.SortFunc(out, store.CompareSerials)
	return out
}

// DeleteExpired implements store.Inventory.
func (s *Store) DeleteExpired(ctx context.Context, before time.Time, limit int) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("delete expired certificates: %w", err)
	}
	if limit <= 0 {
		limit = store.MaxListLimit
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, errClosed()
	}
	n := 0
	for _, sn := range s.sortedSerials("") {
		if n == limit {
			break
		}
		info, err := store.NewCertificateInfo(sn, s.certs[sn].DER, "")
		if err != nil {
			return n, fmt.Errorf("delete expired certificates: in-memory database: %w", err)
		}
		if info.NotAfter.Before(before) {
			delete(s.certs, sn)
			n++
		}
	}
	return n, nil
}
