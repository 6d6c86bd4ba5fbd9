package importer

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/mayfly-pki/mayfly/authority/store"
)

// writeBolt writes fx into a new bbolt file with step-ca's buckets.
func writeBolt(t *testing.T, fx *fixture, tables ...string) string {
	t.Helper()
	fx.written = tables
	path := filepath.Join(t.TempDir(), "step.db")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bolt.Tx) error {
		for _, table := range tables {
			b, err := tx.CreateBucket([]byte(table))
			if err != nil {
				return err
			}
			for k, v := range fx.tables[table] {
				if err := b.Put([]byte(k), v); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return path
}

func TestImportBolt(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, 1100, 5, 30)
	path := writeBolt(t, fx, tableCerts, tableCertsData, tableRevoked, tableUsedOTT, "x509_crl")
	importTwice(t, fx, func() Source {
		src, err := OpenStep(context.Background(), "bbolt:"+path, StepOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return src
	})
}

func TestImportBoltWithoutCertsData(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, 20, 2, 3)
	// An old step-ca without x509_certs_data: certificates import without data.
	path := writeBolt(t, fx, tableCerts, tableRevoked, tableUsedOTT)
	for _, c := range fx.certs {
		c.Data, c.Provisioner = nil, ""
	}
	importTwice(t, fx, func() Source {
		src, err := OpenStep(context.Background(), "bbolt:"+path, StepOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return src
	})
}

func TestImportBoltErrors(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, 3, 1, 1)
	corrupt := newFixture(t, 3, 1, 1)
	corrupt.tables[tableRevoked]["123"] = []byte(`{"Serial":`)
	mismatch := newFixture(t, 3, 1, 1)
	mismatch.tables[tableCerts]["42"] = mismatch.tables[tableCerts][mismatch.certs[0].Serial]
	for _, tc := range []struct {
		name string
		path string
		want string
	}{
		{"no used_ott bucket", writeBolt(t, fx, tableCerts, tableCertsData, tableRevoked), "bucket used_ott not found"},
		{"no x509_certs bucket", writeBolt(t, fx, tableRevoked, tableUsedOTT), "bucket x509_certs not found"},
		{"bad revocation JSON", writeBolt(t, corrupt, tableCerts, tableRevoked, tableUsedOTT), "table revoked_x509_certs, serial 123: decode revocation JSON"},
		{"serial mismatch", writeBolt(t, mismatch, tableCerts, tableRevoked, tableUsedOTT), "table x509_certs, key 42: the certificate's serial is"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			src, err := OpenStep(context.Background(), "bbolt:"+tc.path, StepOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			dst, _ := openBadger(t)
			_, err = Import(context.Background(), dst, src, Options{Workers: 2})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Import = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestOpenStepErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	locked := filepath.Join(dir, "locked.db")
	db, err := bolt.Open(locked, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, tc := range []struct{ from, want string }{
		{"nothing", "want <type>:<dataSource>"},
		{"bbolt:", "want <type>:<dataSource>"},
		{"sqlite:/x.db", `invalid source type "sqlite"`},
		{"bbolt:" + filepath.Join(dir, "missing.db"), "missing.db: stat"},
		{"bbolt:" + dir, "it is a directory"},
		{"BBOLT:" + locked, "the file is locked"},
		{"mysql:root@tcp(127.0.0.1:3306)/", "no database named"},
	} {
		_, err := OpenStep(context.Background(), tc.from, StepOptions{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Fatalf("OpenStep(%q) = %v, want %q", tc.from, err, tc.want)
		}
	}
}

// TestImportFromStore migrates between two Mayfly stores (Badger to Badger
// here; every backend with store.Inventory works the same way).
func TestImportFromStore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fx := newFixture(t, 1500, 4, 0) // more than one page of MaxListLimit
	fx.written = []string{}         // a Mayfly store has no other tables
	src, _ := openBadger(t)
	for _, c := range fx.certs {
		if err := src.StoreCertificate(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	fx.revs = fx.revs[:len(fx.revs)-1] // only revocations of listed certificates migrate
	for _, r := range fx.revs {
		if err := src.Revoke(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	source, err := FromStore(src, "badger source")
	if err != nil {
		t.Fatal(err)
	}
	dst, _ := openBadger(t)
	for _, second := range []bool{false, true} {
		stats, err := Import(ctx, dst, source, Options{})
		if err != nil {
			t.Fatal(err)
		}
		checkStats(t, stats, fx, second)
		checkImported(t, dst, fx)
	}
}

// failingStore fails every write after the first n.
type failingStore struct {
	store.Store
	n int
}

func (f *failingStore) StoreCertificate(ctx context.Context, c *store.Certificate) error {
	f.n--
	if f.n < 0 {
		return errors.New("disk full")
	}
	return f.Store.StoreCertificate(ctx, c)
}

func TestImportStopsAtWriteError(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, 50, 0, 0)
	path := writeBolt(t, fx, tableCerts, tableRevoked, tableUsedOTT)
	src, err := OpenStep(context.Background(), "bbolt:"+path, StepOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, _ := openBadger(t)
	stats, err := Import(context.Background(), &failingStore{Store: dst, n: 10}, src, Options{Workers: 1})
	if err == nil || !strings.Contains(err.Error(), "disk full") || !strings.Contains(err.Error(), "bbolt "+path) {
		t.Fatalf("Import = %v, want the write error naming the source", err)
	}
	if stats.Certificates != 10 {
		t.Fatalf("stats %+v, want 10 certificates written", stats)
	}
}

func TestStatsString(t *testing.T) {
	t.Parallel()
	s := Stats{Certificates: 1234, Revocations: 5, Tokens: 6789, CertificatesPresent: 10, TokensPresent: 2}
	if got, want := s.String(), "imported 1234 certificates, 5 revocations, 6789 used tokens (12 already present)"; got != want {
		t.Fatalf("String() = %q, want %q", got, want)
	}
}

func TestDecodeRevocation(t *testing.T) {
	t.Parallel()
	v := `{"Serial":"2263","ProvisionerID":"admin:fZUC","ReasonCode":1,"Reason":"key compromised","RevokedAt":"2026-11-22T17:58:48.378133084Z","ExpiresAt":"0001-01-01T00:00:00Z","TokenID":"","MTLS":true,"ACME":false}`
	r, err := decodeRevocation("2263", []byte(v))
	if err != nil {
		t.Fatal(err)
	}
	want := store.Revocation{Serial: "2263", ProvisionerID: "admin:fZUC", ReasonCode: 1, Reason: "key compromised",
		RevokedAt: time.Date(2026, 11, 22, 17, 58, 48, 378133084, time.UTC), MTLS: true}
	if *r != want {
		t.Fatalf("got %+v, want %+v", *r, want)
	}
	if _, err := decodeRevocation("2264", []byte(v)); err == nil || !strings.Contains(err.Error(), "the record's Serial is 2263") {
		t.Fatalf("mismatched key: %v", err)
	}
	r, err = decodeRevocation("7", []byte(`{"ReasonCode":0}`))
	if err != nil || r.Serial != "7" {
		t.Fatalf("record without Serial: %+v, %v", r, err)
	}
}
