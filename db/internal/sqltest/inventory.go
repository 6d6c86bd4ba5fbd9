package sqltest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/db/dbtest"
)

// InventoryNullNotAfter checks that a record stored without NotAfter (a
// NULL not_after column) is listed by its DER's NotAfter and never pruned.
func InventoryNullNotAfter(t *testing.T, s dbtest.InventoryStore) {
	t.Helper()
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
