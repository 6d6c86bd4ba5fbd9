package postgresql

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/mayfly-pki/mayfly/authority/store"

	"github.com/mayfly-pki/mayfly/db/dbtest"
	"github.com/mayfly-pki/mayfly/internal/errs"
)

func TestInventory(t *testing.T) {
	t.Parallel()
	dbtest.RunInventory(t, func(t *testing.T) dbtest.InventoryStore { return openTest(t, newSchema(t)) }, true)
}

// TestDeleteExpiredReadOnly checks that a read-only store refuses to prune.
func TestDeleteExpiredReadOnly(t *testing.T) {
	t.Parallel()
	tg := newSchema(t)
	rw := openTest(t, tg)
	if err := rw.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	opts := tg.options()
	opts.ReadOnly = true
	ro := openWith(t, opts)
	defer ro.Close()
	if _, err := ro.DeleteExpired(context.Background(), time.Now(), 10); !errs.Is(err, errs.Unavailable) {
		t.Fatalf("DeleteExpired on a read-only store: %v, want kind unavailable", err)
	}
}

// TestInventoryNullNotAfter checks that a record stored without NotAfter
// (a NULL not_after column) is listed by its DER's NotAfter and never pruned.
func TestInventoryNullNotAfter(t *testing.T) {
	t.Parallel()
	s := openTest(t, newSchema(t))
	defer s.Close()
	ctx := context.Background()
	f := dbtest.NewCertificates(t)
	now := time.Now().UTC().Truncate(time.Second)
	for i, na := range []time.Time{now.Add(-time.Hour), now.Add(time.Hour)} {
		c := f.NewCertificate(t, dbtest.Serial(i+1), "cn", nil, "p", na)
		c.NotAfter = time.Time{}
		if err := s.StoreCertificate(ctx, c); err != nil {
			t.Fatalf("StoreCertificate: %v", err)
		}
	}
	tests := []struct {
		f    store.CertificateFilter
		want []string
	}{
		{store.CertificateFilter{ExpiringBefore: now}, []string{dbtest.Serial(1)}},
		{store.CertificateFilter{ExpiringAfter: now}, []string{dbtest.Serial(2)}},
		{store.CertificateFilter{}, []string{dbtest.Serial(1), dbtest.Serial(2)}},
	}
	for _, tc := range tests {
		page, next, err := s.ListCertificates(ctx, tc.f)
		var got []string
		for _, c := range page {
			got = append(got, c.Serial)
		}
		if err != nil || next != "" || !slices.Equal(got, tc.want) {
			t.Fatalf("ListCertificates(%+v) = %v, %q, %v; want %v", tc.f, got, next, err, tc.want)
		}
	}
	if n, err := s.DeleteExpired(ctx, now.Add(time.Hour), 10); err != nil || n != 0 {
		t.Fatalf("DeleteExpired with NULL not_after = %d, %v; want 0", n, err)
	}
}
