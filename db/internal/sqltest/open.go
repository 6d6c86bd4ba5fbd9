package sqltest

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/db/dbtest"
	"github.com/mayfly-pki/mayfly/db/internal/sqlstore"
	"github.com/mayfly-pki/mayfly/internal/errs"
)

// OpenError is one Open (with Opts) that must fail.
type OpenError[O any] struct {
	Name string
	Opts O
	Want []string // substrings of the error
	Kind errs.Kind
}

// OpenErrors runs every case in parallel: open(ctx, Opts) fails with an
// error that contains each Want, has kind Kind, is one line and never
// contains password.
func OpenErrors[O any, S io.Closer](t *testing.T, password string, open func(context.Context, O) (S, error), cases []OpenError[O]) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			t.Parallel()
			s, err := open(context.Background(), tc.Opts)
			if err == nil {
				s.Close()
				t.Fatalf("Open succeeded, want an error")
			}
			msg := err.Error()
			for _, w := range tc.Want {
				if !strings.Contains(msg, w) {
					t.Fatalf("Open error = %q, want it to contain %q", msg, w)
				}
			}
			if strings.Contains(msg, password) || strings.Contains(msg, "\n") {
				t.Fatalf("Open error = %q: it must be one line without the password", msg)
			}
			if k := errs.KindOf(err); k != tc.Kind {
				t.Fatalf("Open error kind = %v, want %v (%v)", k, tc.Kind, err)
			}
		})
	}
}

// RefusedSchema is a database a store must refuse to open: the store's
// tables are replaced by what Setup creates, and the error contains Want.
type RefusedSchema struct {
	Name  string
	Setup []string
	Want  string
}

// SchemaTarget is a fresh database (or schema) where a store was opened
// once, creating its tables.
type SchemaTarget struct {
	Name string                          // how errors name it
	Exec func(t *testing.T, stmt string) // runs stmt in it (fails t on error)
	Open func() error                    // opens a store on it (closing it if that succeeds)
}

// RefusesSchemas runs every case in parallel on a target from fresh.
func RefusesSchemas(t *testing.T, cases []RefusedSchema, fresh func(t *testing.T) SchemaTarget) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			t.Parallel()
			tg := fresh(t)
			for _, stmt := range append([]string{"DROP TABLE x509_certs, used_ott, revoked_x509_certs, mayfly_schema_migrations"}, tc.Setup...) {
				tg.Exec(t, stmt)
			}
			err := tg.Open()
			if err == nil {
				t.Fatalf("Open succeeded, want an error containing %q", tc.Want)
			}
			if !strings.Contains(err.Error(), tc.Want) || !strings.Contains(err.Error(), tg.Name) {
				t.Fatalf("Open error = %q, want it to name %s and contain %q", err, tg.Name, tc.Want)
			}
		})
	}
}

// ReadOnlyDB is one database that does not exist yet, seen by a read-only
// store (a hot standby or replica) and a read-write one.
type ReadOnlyDB[S Store] struct {
	Name   string               // the database's name, which errors contain
	OpenRO func() (S, error)    // opens a read-only store
	Create func(t *testing.T)   // creates the database, empty
	OpenRW func(t *testing.T) S // opens a read-write store (fails t on error)
}

// ReadOnly checks a read-only store: it never creates the database nor the
// schema; once a read-write store made them, it reads what that store
// wrote, refuses every write with a read-only error of kind
// errs.Unavailable, and its Maintain does nothing (the read-write store's
// expired token records stay).
func ReadOnly[S Store](t *testing.T, db ReadOnlyDB[S]) {
	t.Helper()
	ctx := context.Background()
	// A read-only store never creates the database...
	if s, err := db.OpenRO(); err == nil {
		s.Close()
		t.Fatalf("read-only Open of a missing database succeeded")
	} else if !strings.Contains(err.Error(), db.Name) {
		t.Fatalf("read-only Open of a missing database: %v, want it to name %s", err, db.Name)
	}
	// ...nor the schema.
	db.Create(t)
	if s, err := db.OpenRO(); err == nil {
		s.Close()
		t.Fatalf("read-only Open without a schema succeeded")
	} else if !strings.Contains(err.Error(), "schema version 0") {
		t.Fatalf("read-only Open without a schema: %v, want a schema version error", err)
	}

	rw := db.OpenRW(t)
	defer rw.Close()
	c := dbtest.NewCertificates(t).NewCertificate(t, dbtest.Serial(1), "cn", nil, "p", time.Now().Add(-time.Hour))
	if err := rw.StoreCertificate(ctx, c); err != nil {
		t.Fatalf("StoreCertificate: %v", err)
	}
	r := dbtest.NewRevocation(c.Serial, true)
	if err := rw.Revoke(ctx, r); err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	expired := dbtest.TokenExpiring(time.Now().Add(-time.Hour))
	if err := rw.UseToken(ctx, "expired", expired); err != nil {
		t.Fatalf("UseToken: %v", err)
	}

	s, err := db.OpenRO()
	if err != nil {
		t.Fatalf("read-only Open: %v", err)
	}
	if got, err := s.GetCertificate(ctx, c.Serial); err != nil {
		t.Fatalf("read-only GetCertificate: %v", err)
	} else if d := dbtest.EqualCertificate(c, got); d != "" {
		t.Fatalf("read-only GetCertificate: %s", d)
	}
	if got, err := s.GetRevocation(ctx, c.Serial); err != nil {
		t.Fatalf("read-only GetRevocation: %v", err)
	} else if d := dbtest.EqualRevocation(r, got); d != "" {
		t.Fatalf("read-only GetRevocation: %s", d)
	}
	if page, _, err := s.ListCertificates(ctx, store.CertificateFilter{}); err != nil || len(page) != 1 {
		t.Fatalf("read-only ListCertificates = %d records, %v; want 1", len(page), err)
	}
	writes := []struct {
		name string
		call func() error
	}{
		{"UseToken", func() error { return s.UseToken(ctx, "jti", []byte("t")) }},
		{"StoreCertificate", func() error { return s.StoreCertificate(ctx, c) }},
		{"Revoke", func() error { return s.Revoke(ctx, dbtest.NewRevocation(dbtest.Serial(2), false)) }},
		{"DeleteExpired", func() error { _, err := s.DeleteExpired(ctx, time.Now(), 10); return err }},
	}
	for _, w := range writes {
		if err := w.call(); !errs.Is(err, errs.Unavailable) || !strings.Contains(err.Error(), "read-only") {
			t.Fatalf("read-only %s: %v, want a read-only error of kind %v", w.name, err, errs.Unavailable)
		}
	}
	if err := s.Maintain(ctx); err != nil {
		t.Fatalf("read-only Maintain: %v, want nil (nothing to do)", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("read-only Close: %v", err)
	}
	if err := s.Maintain(ctx); !errs.Is(err, errs.Unavailable) {
		t.Fatalf("read-only Maintain after Close: %v, want kind %v", err, errs.Unavailable)
	}
	// Nothing the read-only store refused or skipped was written or pruned.
	if err := rw.UseToken(ctx, "jti", []byte("t")); err != nil {
		t.Fatalf("UseToken of the key the read-only store refused: %v", err)
	}
	if err := rw.UseToken(ctx, "expired", expired); !errors.Is(err, store.ErrTokenUsed) {
		t.Fatalf("UseToken of an expired token after a read-only Maintain: %v, want ErrTokenUsed (kept)", err)
	}
	if _, err := rw.GetCertificate(ctx, c.Serial); err != nil {
		t.Fatalf("GetCertificate after a refused read-only DeleteExpired: %v", err)
	}
}

// RecordChecks checks that records the schema cannot hold are refused with
// errs.BadRequest before anything is written, and that the derived index
// columns (subject, provisioner) are cleaned and bounded rather than
// refused.
func RecordChecks(t *testing.T, s store.Store) {
	t.Helper()
	ctx := context.Background()
	f := dbtest.NewCertificates(t)
	longSerial := dbtest.NewRevocation(strings.Repeat("1", sqlstore.MaxSerialLen+1), false)
	nulReason := dbtest.NewRevocation(dbtest.Serial(1), false)
	nulReason.Reason = "a\x00b"
	badUTF8 := dbtest.NewRevocation(dbtest.Serial(2), false)
	badUTF8.TokenID = "\xff"
	tests := []struct {
		name string
		call func() error
	}{
		{"empty token key", func() error { return s.UseToken(ctx, "", []byte("t")) }},
		{"long token key", func() error { return s.UseToken(ctx, strings.Repeat("k", sqlstore.MaxTokenKeyLen+1), []byte("t")) }},
		{"huge token", func() error { return s.UseToken(ctx, "k", make([]byte, sqlstore.MaxValueLen+1)) }},
		{"nil certificate", func() error { return s.StoreCertificate(ctx, nil) }},
		{"empty DER", func() error { return s.StoreCertificate(ctx, &store.Certificate{Serial: "1"}) }},
		{"long serial", func() error { return s.Revoke(ctx, longSerial) }},
		{"NUL in reason", func() error { return s.Revoke(ctx, nulReason) }},
		{"invalid UTF-8 token ID", func() error { return s.Revoke(ctx, badUTF8) }},
		{"NUL in serial lookup", func() error { _, err := s.GetCertificate(ctx, "1\x00"); return err }},
	}
	for _, tc := range tests {
		if err := tc.call(); !errs.Is(err, errs.BadRequest) {
			t.Fatalf("%s: err = %v (kind %v), want kind %v", tc.name, err, errs.KindOf(err), errs.BadRequest)
		}
	}
	for _, serial := range []string{nulReason.Serial, badUTF8.Serial} {
		if _, err := s.GetRevocation(ctx, serial); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("GetRevocation(%s) after a refused Revoke: %v, want ErrNotFound", serial, err)
		}
	}
	// Index columns are cleaned and bounded, not refused.
	c := f.New(t, dbtest.Serial(3))
	c.Subject, c.Provisioner = "bad\xffname\x00", strings.Repeat("é", sqlstore.MaxIndexText)
	if err := s.StoreCertificate(ctx, c); err != nil {
		t.Fatalf("StoreCertificate with odd index fields: %v", err)
	}
	got, err := s.GetCertificate(ctx, c.Serial)
	if err != nil {
		t.Fatalf("GetCertificate: %v", err)
	}
	if want := strings.Repeat("é", sqlstore.MaxIndexText/2); got.Subject != "bad\uFFFDname" || got.Provisioner != want {
		t.Fatalf("stored subject %q, provisioner of %d bytes; want %q and %d bytes", got.Subject, len(got.Provisioner), "bad\uFFFDname", len(want))
	}
}

// Inspect reads a database directly, with the backend's SQL.
type Inspect struct {
	// Versions returns the versions recorded in mayfly_schema_migrations,
	// in order.
	Versions func(t *testing.T) []int
	// Indexes returns how many indexes named index table has.
	Indexes func(t *testing.T, table, index string) int
	// IndexColumns returns the subject and provisioner columns of the
	// x509_certs row of serial whose not_after is notAfter.
	IndexColumns func(t *testing.T, serial string, notAfter time.Time) (subject, provisioner string)
}

// OpenCreatesSchema opens four stores together on a database that does not
// exist yet: all open, each migration up to latest is recorded once, the
// indexes the queries need exist, records are real rows with their index
// columns, and keys differing only in case are different keys.
func OpenCreatesSchema[S Store](t *testing.T, open func() (S, error), latest int, in Inspect) {
	t.Helper()
	const starters = 4
	stores := make([]S, starters)
	errList := dbtest.Concurrently(starters, func(i int) error {
		var err error
		stores[i], err = open()
		return err
	})
	for i, err := range errList {
		if err != nil {
			t.Fatalf("concurrent Open %d: %v", i, err)
		}
		defer stores[i].Close()
	}
	// Migration versions are assigned per change, so gaps are allowed:
	// each applied once, in order, ending at latest.
	got := in.Versions(t)
	increasing := len(got) > 0 && got[0] == 1
	for i := 1; i < len(got); i++ {
		increasing = increasing && got[i] > got[i-1]
	}
	if !increasing || got[len(got)-1] != latest {
		t.Fatalf("mayfly_schema_migrations = %v, want versions from 1 to %d, each once", got, latest)
	}
	for _, idx := range []struct{ table, index string }{
		{"x509_certs", "x509_certs_not_after_idx"}, {"x509_certs", "x509_certs_provisioner_idx"},
		{"x509_certs", "x509_certs_subject_idx"}, {"revoked_x509_certs", "revoked_x509_certs_expires_at_idx"},
		{"used_ott", "used_ott_expires_at_idx"},
	} {
		if n := in.Indexes(t, idx.table, idx.index); n != 1 {
			t.Fatalf("index %s on %s: found %d, want 1", idx.index, idx.table, n)
		}
	}
	ctx := context.Background()
	c := dbtest.NewCertificates(t).New(t, dbtest.Serial(1))
	if err := stores[0].StoreCertificate(ctx, c); err != nil {
		t.Fatalf("StoreCertificate: %v", err)
	}
	if subject, provisioner := in.IndexColumns(t, c.Serial, c.NotAfter); subject != c.Subject || provisioner != c.Provisioner {
		t.Fatalf("row has subject %q, provisioner %q; want %q, %q", subject, provisioner, c.Subject, c.Provisioner)
	}
	// Keys compare as bytes: keys differing only in case are different.
	for _, key := range []string{"jti-A", "jti-a"} {
		if err := stores[1].UseToken(ctx, key, []byte("t")); err != nil {
			t.Fatalf("UseToken(%s): %v", key, err)
		}
	}
}
