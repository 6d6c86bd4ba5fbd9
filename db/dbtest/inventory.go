package dbtest

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"testing"
	"time"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/internal/errs"
)

// InventoryOpener returns a new, empty store implementing store.Inventory
// for one test. The suite closes it.
type InventoryOpener func(t *testing.T) InventoryStore

// InventoryStore is a store with the optional inventory port.
type InventoryStore interface {
	store.Store
	store.Inventory
}

// NewCertificate returns a record like New, with the given subject common
// name, DNS SANs, provisioner name and NotAfter (NotBefore is an hour
// earlier), in whole UTC seconds.
func (f *Certificates) NewCertificate(tb testing.TB, serial, cn string, sans []string, prov string, notAfter time.Time) *store.Certificate {
	tb.Helper()
	sn, ok := new(big.Int).SetString(serial, 10)
	if !ok || sn.Sign() <= 0 {
		tb.Fatalf("test serial %q is not a positive decimal number", serial)
	}
	notAfter = notAfter.UTC().Truncate(time.Second)
	tmpl := &x509.Certificate{
		SerialNumber: sn, Subject: pkix.Name{CommonName: cn},
		NotBefore: notAfter.Add(-time.Hour), NotAfter: notAfter, DNSNames: sans,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &f.key.PublicKey, f.key)
	if err != nil {
		tb.Fatalf("create test certificate %s: %v", serial, err)
	}
	data := fmt.Sprintf(`{"provisioner":{"id":"admin:kid","name":%q,"type":"JWK"}}`, prov)
	return &store.Certificate{Serial: serial, DER: der, Data: []byte(data), NotAfter: notAfter, Subject: cn, Provisioner: prov}
}

// RunInventory runs the store.Inventory suite. revocation says whether the
// backend records revocations (false for the in-memory store, which never
// lists a certificate as revoked).
func RunInventory(t *testing.T, open InventoryOpener, revocation bool) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, s InventoryStore, revocation bool)
	}{
		{"ListFilters", testListFilters},
		{"ListPaging", testListPaging},
		{"ListEmpty", testListEmpty},
		{"DeleteExpired", testDeleteExpired},
		{"InventoryAfterClose", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := open(t)
			if tc.fn == nil {
				testInventoryAfterClose(t, s)
				return
			}
			defer mustClose(t, s)
			tc.fn(t, s, revocation)
		})
	}
}

// inventoryFixture stores five certificates and revokes serial 3 (when the
// backend can); it returns the base time the NotAfters derive from.
//
//	serial  cn              SANs                  provisioner  NotAfter
//	1       a.example.com   a.example.com         alice        base+1h
//	2       b.example.com   b.example.com, *.b.x  bob          base+2h
//	3       c.internal      c.internal            alice        base+3h   (revoked)
//	4       Mixed.Example   10.example.org        bob          base-1h   (expired)
//	5       e.example.com   e.example.com         carol        base+5h
func inventoryFixture(t *testing.T, s InventoryStore, revocation bool) time.Time {
	t.Helper()
	ctx := context.Background()
	f := NewCertificates(t)
	base := time.Now().UTC().Truncate(time.Second)
	rows := []struct {
		cn   string
		sans []string
		prov string
		off  time.Duration
	}{
		{"a.example.com", []string{"a.example.com"}, "alice", time.Hour},
		{"b.example.com", []string{"b.example.com", "*.b.x"}, "bob", 2 * time.Hour},
		{"c.internal", []string{"c.internal"}, "alice", 3 * time.Hour},
		{"Mixed.Example", []string{"10.example.org"}, "bob", -time.Hour},
		{"e.example.com", []string{"e.example.com"}, "carol", 5 * time.Hour},
	}
	for i, r := range rows {
		c := f.NewCertificate(t, Serial(i+1), r.cn, r.sans, r.prov, base.Add(r.off))
		if err := s.StoreCertificate(ctx, c); err != nil {
			t.Fatalf("StoreCertificate(%s): %v", c.Serial, err)
		}
	}
	if revocation {
		if err := s.Revoke(ctx, NewRevocation(Serial(3), true)); err != nil {
			t.Fatalf("Revoke(%s): %v", Serial(3), err)
		}
	}
	return base
}

func serialsOf(page []*store.CertificateInfo) []string {
	out := make([]string, 0, len(page))
	for _, c := range page {
		out = append(out, c.Serial)
	}
	return out
}

func serials(idx ...int) []string {
	out := make([]string, 0, len(idx))
	for _, i := range idx {
		out = append(out, Serial(i))
	}
	return out
}

// listAll follows cursors until the listing ends.
func listAll(t *testing.T, s store.Inventory, f store.CertificateFilter) []*store.CertificateInfo {
	t.Helper()
	var all []*store.CertificateInfo
	for i := 0; ; i++ {
		if i > 1000 {
			t.Fatalf("ListCertificates: cursor never ends")
		}
		page, next, err := s.ListCertificates(context.Background(), f)
		if err != nil {
			t.Fatalf("ListCertificates(%+v): %v", f, err)
		}
		all = append(all, page...)
		if next == "" {
			return all
		}
		if next == f.Cursor {
			t.Fatalf("ListCertificates: cursor %q does not advance", next)
		}
		f.Cursor = next
	}
}

func testListFilters(t *testing.T, s InventoryStore, revocation bool) {
	base := inventoryFixture(t, s, revocation)
	yes, no := true, false
	tests := []struct {
		name string
		f    store.CertificateFilter
		want []string
	}{
		{"all", store.CertificateFilter{}, serials(1, 2, 3, 4, 5)},
		{"expiring before", store.CertificateFilter{ExpiringBefore: base.Add(150 * time.Minute)}, serials(1, 2, 4)},
		{"expiring after", store.CertificateFilter{ExpiringAfter: base.Add(150 * time.Minute)}, serials(3, 5)},
		{"window", store.CertificateFilter{ExpiringAfter: base, ExpiringBefore: base.Add(150 * time.Minute)}, serials(1, 2)},
		{"provisioner", store.CertificateFilter{Provisioner: "alice"}, serials(1, 3)},
		{"provisioner is exact", store.CertificateFilter{Provisioner: "ali"}, nil},
		{"subject in CN", store.CertificateFilter{Subject: "c.internal"}, serials(3)},
		{"subject case-insensitive", store.CertificateFilter{Subject: "mixed.example"}, serials(4)},
		{"subject in SAN only", store.CertificateFilter{Subject: ".example.org"}, serials(4)},
		{"subject wildcard SAN", store.CertificateFilter{Subject: "*.b.x"}, serials(2)},
		{"subject substring", store.CertificateFilter{Subject: "example.com"}, serials(1, 2, 5)},
		{"provisioner and subject", store.CertificateFilter{Provisioner: "bob", Subject: "example.com"}, serials(2)},
	}
	if revocation {
		tests = append(tests,
			struct {
				name string
				f    store.CertificateFilter
				want []string
			}{"revoked", store.CertificateFilter{Revoked: &yes}, serials(3)},
			struct {
				name string
				f    store.CertificateFilter
				want []string
			}{"not revoked", store.CertificateFilter{Revoked: &no}, serials(1, 2, 4, 5)})
	} else {
		tests = append(tests, struct {
			name string
			f    store.CertificateFilter
			want []string
		}{"revoked (none without revocation)", store.CertificateFilter{Revoked: &yes}, nil})
	}
	for _, tc := range tests {
		got := serialsOf(listAll(t, s, tc.f))
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
	// The record fields.
	all := listAll(t, s, store.CertificateFilter{Subject: "b.example.com"})
	if len(all) != 1 {
		t.Fatalf("list b.example.com: got %d records", len(all))
	}
	b := all[0]
	if b.Subject != "b.example.com" || b.Provisioner != "bob" || !slices.Equal(b.SANs, []string{"b.example.com", "*.b.x"}) ||
		!b.NotAfter.Equal(base.Add(2*time.Hour)) || !b.NotBefore.Equal(base.Add(time.Hour)) || b.Revoked {
		t.Fatalf("record 2 = %+v", *b)
	}
	if revocation {
		r := listAll(t, s, store.CertificateFilter{Subject: "c.internal"})
		want := NewRevocation(Serial(3), true)
		if len(r) != 1 || !r[0].Revoked || r[0].ReasonCode != want.ReasonCode || !r[0].RevokedAt.Equal(want.RevokedAt) {
			t.Fatalf("revoked record 3 = %+v", r)
		}
	}
}

func testListPaging(t *testing.T, s InventoryStore, _ bool) {
	ctx := context.Background()
	f := NewCertificates(t)
	notAfter := time.Now().Add(time.Hour)
	// Serials of different lengths: the order is numeric (shorter first).
	var want []string
	for _, n := range []int{1, 2, 9, 10, 11, 99, 100, 101, 1000, 5, 12345} {
		sn := fmt.Sprint(n)
		prov := "even"
		if n%2 == 1 {
			prov = "odd"
		}
		if err := s.StoreCertificate(ctx, f.NewCertificate(t, sn, "cn-"+sn, nil, prov, notAfter)); err != nil {
			t.Fatalf("StoreCertificate(%s): %v", sn, err)
		}
	}
	want = []string{"1", "2", "5", "9", "10", "11", "99", "100", "101", "1000", "12345"}
	for _, limit := range []int{1, 2, 3, 4, 10, 11, 12} {
		var got []string
		cursor := ""
		for pages := 0; ; pages++ {
			page, next, err := s.ListCertificates(ctx, store.CertificateFilter{Limit: limit, Cursor: cursor})
			if err != nil {
				t.Fatalf("limit %d: ListCertificates: %v", limit, err)
			}
			if len(page) > limit {
				t.Fatalf("limit %d: got a page of %d", limit, len(page))
			}
			got = append(got, serialsOf(page)...)
			if next == "" {
				break
			}
			if pages > len(want) {
				t.Fatalf("limit %d: too many pages", limit)
			}
			cursor = next
		}
		if !slices.Equal(got, want) {
			t.Fatalf("limit %d: got %v, want %v", limit, got, want)
		}
	}
	// A full last page does not announce a further, empty page.
	page, next, err := s.ListCertificates(ctx, store.CertificateFilter{Limit: len(want)})
	if err != nil || len(page) != len(want) || next != "" {
		t.Fatalf("limit %d: got %d records, next %q, err %v; want all, \"\"", len(want), len(page), next, err)
	}
	// Paging with a filter.
	got := serialsOf(listAll(t, s, store.CertificateFilter{Provisioner: "odd", Limit: 2}))
	if w := []string{"1", "5", "9", "11", "99", "101", "12345"}; !slices.Equal(got, w) {
		t.Fatalf("odd, limit 2: got %v, want %v", got, w)
	}
	// A cursor that is not a stored serial starts after its position.
	page, _, err = s.ListCertificates(ctx, store.CertificateFilter{Cursor: "50", Limit: 2})
	if err != nil || !slices.Equal(serialsOf(page), []string{"99", "100"}) {
		t.Fatalf("cursor 50: got %v, %v; want [99 100]", serialsOf(page), err)
	}
	// The default page size is store.DefaultListLimit; large limits are capped.
	if n := (store.CertificateFilter{}).PageSize(); n != store.DefaultListLimit {
		t.Fatalf("default page size %d", n)
	}
	if n := (store.CertificateFilter{Limit: 5000}).PageSize(); n != store.MaxListLimit {
		t.Fatalf("page size of 5000 = %d", n)
	}
}

func testListEmpty(t *testing.T, s InventoryStore, _ bool) {
	page, next, err := s.ListCertificates(context.Background(), store.CertificateFilter{})
	if err != nil || len(page) != 0 || next != "" {
		t.Fatalf("empty store: got %d records, next %q, err %v", len(page), next, err)
	}
}

func testDeleteExpired(t *testing.T, s InventoryStore, revocation bool) {
	ctx := context.Background()
	f := NewCertificates(t)
	now := time.Now().UTC().Truncate(time.Second)
	// Serials 1..7 expired (NotAfter now-1h), 8..10 valid.
	for i := 1; i <= 10; i++ {
		na := now.Add(-time.Hour)
		if i > 7 {
			na = now.Add(time.Hour)
		}
		if err := s.StoreCertificate(ctx, f.NewCertificate(t, Serial(i), fmt.Sprint("cn-", i), nil, "p", na)); err != nil {
			t.Fatalf("StoreCertificate: %v", err)
		}
	}
	if revocation {
		for _, i := range []int{2, 9} {
			if err := s.Revoke(ctx, NewRevocation(Serial(i), true)); err != nil {
				t.Fatalf("Revoke(%d): %v", i, err)
			}
		}
	}
	// Nothing expired before now-2h.
	if n, err := s.DeleteExpired(ctx, now.Add(-2*time.Hour), 100); err != nil || n != 0 {
		t.Fatalf("DeleteExpired(now-2h) = %d, %v; want 0", n, err)
	}
	// Batches of 3: 3, 3, 1, 0.
	var counts []int
	for range 5 {
		n, err := s.DeleteExpired(ctx, now, 3)
		if err != nil {
			t.Fatalf("DeleteExpired: %v", err)
		}
		counts = append(counts, n)
		if n == 0 {
			break
		}
	}
	if !slices.Equal(counts, []int{3, 3, 1, 0}) {
		t.Fatalf("DeleteExpired batches = %v, want [3 3 1 0]", counts)
	}
	for i := 1; i <= 10; i++ {
		_, err := s.GetCertificate(ctx, Serial(i))
		switch {
		case i <= 7 && !errors.Is(err, store.ErrNotFound):
			t.Fatalf("GetCertificate(%d) after DeleteExpired: %v, want ErrNotFound", i, err)
		case i > 7 && err != nil:
			t.Fatalf("GetCertificate(%d) (valid) after DeleteExpired: %v", i, err)
		}
	}
	if got := serialsOf(listAll(t, s, store.CertificateFilter{})); !slices.Equal(got, serials(8, 9, 10)) {
		t.Fatalf("after DeleteExpired: listed %v, want %v", got, serials(8, 9, 10))
	}
	if revocation {
		for _, i := range []int{2, 9} {
			if _, err := s.GetRevocation(ctx, Serial(i)); err != nil {
				t.Fatalf("GetRevocation(%d) after DeleteExpired: %v (revocations must be kept)", i, err)
			}
		}
	}
}

func testInventoryAfterClose(t *testing.T, s InventoryStore) {
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	ctx := context.Background()
	if _, _, err := s.ListCertificates(ctx, store.CertificateFilter{}); !errs.Is(err, errs.Unavailable) {
		t.Fatalf("ListCertificates after Close: %v, want kind unavailable", err)
	}
	if _, err := s.DeleteExpired(ctx, time.Now(), 10); !errs.Is(err, errs.Unavailable) {
		t.Fatalf("DeleteExpired after Close: %v, want kind unavailable", err)
	}
}
