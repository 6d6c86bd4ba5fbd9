package bbolt

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/db/dbtest"
)

func TestInventory(t *testing.T) {
	t.Parallel()
	dbtest.RunInventory(t, func(t *testing.T) dbtest.InventoryStore {
		return openTest(t, filepath.Join(t.TempDir(), "step.db"))
	}, true)
}

// TestInventoryPersistent checks that deletions survive a reopen.
func TestInventoryPersistent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "step.db")
	s := openTest(t, path)
	f := dbtest.NewCertificates(t)
	now := time.Now()
	for i, na := range []time.Time{now.Add(-time.Hour), now.Add(time.Hour)} {
		if err := s.StoreCertificate(ctx, f.NewCertificate(t, dbtest.Serial(i+1), "cn", nil, "p", na)); err != nil {
			t.Fatalf("StoreCertificate: %v", err)
		}
	}
	if n, err := s.DeleteExpired(ctx, now, 10); err != nil || n != 1 {
		t.Fatalf("DeleteExpired = %d, %v; want 1", n, err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	s = openTest(t, path)
	defer s.Close()
	page, next, err := s.ListCertificates(ctx, store.CertificateFilter{})
	if err != nil || next != "" || !slices.Equal(serialsOf(page), []string{dbtest.Serial(2)}) {
		t.Fatalf("after reopen: listed %v, next %q, err %v; want [%s]", serialsOf(page), next, err, dbtest.Serial(2))
	}
}

// TestSmallestKeysAfter checks the bounded selection behind
// ListCertificates: CompareSerials order from a byte-ordered bucket, the
// cursor, and truncation when more keys than the bound exist (the buffer is
// sorted and cut several times).
func TestSmallestKeysAfter(t *testing.T) {
	t.Parallel()
	s := openTest(t, filepath.Join(t.TempDir(), "step.db"))
	defer s.Close()
	var all []string
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("x509_certs"))
		for i := 1; i <= 500; i++ {
			k := fmt.Sprint(i * 7 % 1013) // lengths 1..4, not inserted in order
			all = append(all, k)
			if err := b.Put([]byte(k), []byte("x")); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("fill bucket: %v", err)
	}
	slices.SortFunc(all, store.CompareSerials)
	all = slices.Compact(all)
	tests := []struct {
		cursor string
		n      int
	}{
		{"", 10}, {"", 1000}, {"", 7}, {"99", 20}, {"100", 3}, {"5", 1}, {"9999", 5}, {"50", 1000},
	}
	for _, tc := range tests {
		var want []string
		for _, k := range all {
			if tc.cursor == "" || store.CompareSerials(k, tc.cursor) > 0 {
				want = append(want, k)
			}
		}
		want = want[:min(len(want), tc.n)]
		var got []string
		err := s.db.View(func(tx *bolt.Tx) error {
			keys, err := smallestKeysAfter(context.Background(), tx.Bucket([]byte("x509_certs")), []byte(tc.cursor), tc.n)
			for _, k := range keys {
				got = append(got, string(k))
			}
			return err
		})
		if err != nil {
			t.Fatalf("cursor %q, n %d: %v", tc.cursor, tc.n, err)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("cursor %q, n %d: got %v, want %v", tc.cursor, tc.n, got, want)
		}
	}
}

func serialsOf(page []*store.CertificateInfo) []string {
	out := make([]string, 0, len(page))
	for _, c := range page {
		out = append(out, c.Serial)
	}
	return out
}

// TestListScanBound checks the store.MaxListScan behaviour with a small
// bound: a call stops after maxScan records with a cursor at the last one
// examined, possibly with an empty page, and following the cursors lists
// every match once, in order.
func TestListScanBound(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t, filepath.Join(t.TempDir(), "step.db"))
	defer s.Close()
	f := dbtest.NewCertificates(t)
	na := time.Now().Add(time.Hour)
	for _, n := range []int{1, 2, 3, 10, 11, 12, 100, 101} {
		prov := "rare"
		if n != 2 && n != 101 {
			prov = "common"
		}
		sn := fmt.Sprint(n)
		if err := s.StoreCertificate(ctx, f.NewCertificate(t, sn, "cn-"+sn, nil, prov, na)); err != nil {
			t.Fatalf("StoreCertificate(%s): %v", sn, err)
		}
	}
	type call struct {
		page []string
		next string
	}
	var got []call
	filter := store.CertificateFilter{Provisioner: "rare", Limit: 10}
	for range 10 {
		page, next, err := s.listCertificates(ctx, filter, 3)
		if err != nil {
			t.Fatalf("listCertificates(%+v): %v", filter, err)
		}
		got = append(got, call{serialsOf(page), next})
		if next == "" {
			break
		}
		filter.Cursor = next
	}
	want := []call{{[]string{"2"}, "3"}, {[]string{}, "12"}, {[]string{"101"}, ""}}
	if len(got) != len(want) {
		t.Fatalf("calls = %+v, want %+v", got, want)
	}
	for i := range want {
		if !slices.Equal(got[i].page, want[i].page) || got[i].next != want[i].next {
			t.Fatalf("call %d = %+v, want %+v (all: %+v)", i, got[i], want[i], got)
		}
	}
}
