package badger

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/db/dbtest"
)

func TestInventory(t *testing.T) {
	t.Parallel()
	dbtest.RunInventory(t, func(t *testing.T) dbtest.InventoryStore { return openTest(t, t.TempDir()) }, true)
}

// TestInventoryPersistent checks that deletions survive a restart.
func TestInventoryPersistent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	s := openTest(t, dir)
	f := dbtest.NewCertificates(t)
	now := time.Now()
	for i, na := range []time.Time{now.Add(-time.Hour), now.Add(time.Hour)} {
		if err := s.StoreCertificate(ctx, f.NewCertificate(t, dbtest.Serial(i), "cn", nil, "p", na)); err != nil {
			t.Fatalf("StoreCertificate: %v", err)
		}
	}
	if n, err := s.DeleteExpired(ctx, now, 10); err != nil || n != 1 {
		t.Fatalf("DeleteExpired = %d, %v; want 1", n, err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	s = openTest(t, dir)
	defer s.Close()
	page, _, err := s.ListCertificates(ctx, store.CertificateFilter{})
	if err != nil || len(page) != 1 || page[0].Serial != dbtest.Serial(1) {
		t.Fatalf("after restart: %d records, %v; want only %s", len(page), err, dbtest.Serial(1))
	}
}

// TestMaintain runs value-log GC on a database with garbage and checks it
// returns nil (ErrNoRewrite is the normal end), stops on a cancelled
// context, and fails after Close.
func TestMaintain(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := openTest(t, dir)
	ctx := context.Background()
	f := dbtest.NewCertificates(t)
	for i := range 50 {
		if err := s.StoreCertificate(ctx, f.New(t, dbtest.Serial(i))); err != nil {
			t.Fatalf("StoreCertificate: %v", err)
		}
	}
	if err := s.Maintain(ctx); err != nil {
		t.Fatalf("Maintain: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.Maintain(cctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Maintain(cancelled) = %v, want context.Canceled", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Maintain(ctx); err == nil {
		t.Fatalf("Maintain after Close succeeded")
	}
	if _, err := os.Stat(filepath.Join(dir, manifestName)); err != nil {
		t.Fatalf("database directory: %v", err)
	}
}
