package mysql

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/db/dbtest"
	"github.com/mayfly-pki/mayfly/internal/errs"
)

// TestOpenErrors needs no server: nothing listens on 127.0.0.1:1.
func TestOpenErrors(t *testing.T) {
	t.Parallel()
	const password = "S3cret-Pa55word"
	tests := []struct {
		name     string
		opts     Options
		want     string
		wantKind errs.Kind
	}{
		{"empty DSN", Options{}, "db.dataSource is empty", errs.Internal},
		{"unparsable", Options{DataSource: "root:" + password + "@tcp(127.0.0.1:3306/x"}, "invalid db.dataSource", errs.Internal},
		{"unparsable parameter", Options{DataSource: "root:" + password + "@tcp(127.0.0.1:3306)/x?parseTime=maybe"}, "invalid db.dataSource", errs.Internal},
		{"no database", Options{DataSource: "root:" + password + "@tcp(127.0.0.1:1)/"}, "no database named", errs.Internal},
		{"unreachable", Options{DataSource: "root:" + password + "@tcp(127.0.0.1:1)/mayfly"},
			"mysql database 127.0.0.1:1/mayfly: open:", errs.Unavailable},
		{"unreachable, database option wins", Options{DataSource: "root:" + password + "@tcp(127.0.0.1:1)/other", Database: "mayfly"},
			"mysql database 127.0.0.1:1/mayfly: open:", errs.Unavailable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, err := Open(context.Background(), tc.opts)
			if err == nil {
				s.Close()
				t.Fatalf("Open succeeded, want an error")
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.want) {
				t.Fatalf("Open error = %q, want it to contain %q", msg, tc.want)
			}
			if strings.Contains(msg, password) || strings.Contains(msg, "\n") {
				t.Fatalf("Open error = %q: it must be one line without the password", msg)
			}
			if k := errs.KindOf(err); k != tc.wantKind {
				t.Fatalf("Open error kind = %v, want %v (%v)", k, tc.wantKind, err)
			}
		})
	}
}

func TestOpenCreatesDatabaseAndSchema(t *testing.T) {
	t.Parallel()
	name := newDatabase(t)
	// Several CAs starting together on a database that does not exist yet:
	// all open, and each migration is recorded once.
	const starters = 4
	stores := make([]*Store, starters)
	errList := make([]error, starters)
	var wg sync.WaitGroup
	for i := range starters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stores[i], errList[i] = Open(context.Background(), testOptions(name))
		}()
	}
	wg.Wait()
	for i, err := range errList {
		if err != nil {
			t.Fatalf("concurrent Open %d: %v", i, err)
		}
		defer stores[i].Close()
	}
	db := dbConn(t, name)
	ctx := context.Background()
	var n, maxVersion int
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*), MAX(version) FROM mayfly_schema_migrations").Scan(&n, &maxVersion); err != nil {
		t.Fatalf("read migrations: %v", err)
	}
	if n != latestVersion() || maxVersion != latestVersion() {
		t.Fatalf("mayfly_schema_migrations has %d rows up to version %d, want each of 1..%d once", n, maxVersion, latestVersion())
	}
	for _, idx := range []struct{ table, index string }{
		{"x509_certs", "x509_certs_not_after_idx"}, {"x509_certs", "x509_certs_provisioner_idx"},
		{"x509_certs", "x509_certs_subject_idx"}, {"revoked_x509_certs", "revoked_x509_certs_expires_at_idx"},
	} {
		var found int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM information_schema.statistics
			WHERE table_schema = DATABASE() AND table_name = ? AND index_name = ?`, idx.table, idx.index).Scan(&found); err != nil {
			t.Fatal(err)
		}
		if found != 1 {
			t.Fatalf("index %s on %s: found %d, want 1", idx.index, idx.table, found)
		}
	}
	c := dbtest.NewCertificates(t).New(t, dbtest.Serial(1))
	if err := stores[0].StoreCertificate(ctx, c); err != nil {
		t.Fatalf("StoreCertificate: %v", err)
	}
	var subject, provisioner string
	if err := db.QueryRowContext(ctx, "SELECT subject, provisioner FROM x509_certs WHERE serial = ? AND not_after = ?",
		c.Serial, c.NotAfter).Scan(&subject, &provisioner); err != nil {
		t.Fatalf("select the stored row: %v", err)
	}
	if subject != c.Subject || provisioner != c.Provisioner {
		t.Fatalf("row has subject %q, provisioner %q; want %q, %q", subject, provisioner, c.Subject, c.Provisioner)
	}
	// Keys compare as bytes: keys differing only in case are different.
	for _, key := range []string{"jti-A", "jti-a"} {
		if err := stores[1].UseToken(ctx, key, []byte("t")); err != nil {
			t.Fatalf("UseToken(%s): %v", key, err)
		}
	}
}

func TestOpenRefusesSchemas(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		setup []string
		want  string
	}{
		{"newer schema", []string{
			"CREATE TABLE mayfly_schema_migrations (version INT NOT NULL PRIMARY KEY, applied_at DATETIME(6) NOT NULL)",
			"INSERT INTO mayfly_schema_migrations VALUES (1, UTC_TIMESTAMP(6)), (99, UTC_TIMESTAMP(6))",
		}, "schema version 99, newer than this Mayfly's"},
		{"step-ca database", []string{
			"CREATE TABLE x509_certs (nkey VARBINARY(255), nvalue BLOB, PRIMARY KEY (nkey))",
		}, "holds step-ca's tables"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			name := newDatabase(t)
			openTest(t, name).Close() // creates the database
			db := dbConn(t, name)
			for _, stmt := range append([]string{"DROP TABLE x509_certs, used_ott, revoked_x509_certs, mayfly_schema_migrations"}, tc.setup...) {
				if _, err := db.ExecContext(context.Background(), stmt); err != nil {
					t.Fatalf("%s: %v", stmt, err)
				}
			}
			s, err := Open(context.Background(), testOptions(name))
			if err == nil {
				s.Close()
				t.Fatalf("Open succeeded, want an error containing %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), name) {
				t.Fatalf("Open error = %q, want it to name %s and contain %q", err, name, tc.want)
			}
		})
	}
}

func TestReadOnly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	name := newDatabase(t)
	ro := testOptions(name)
	ro.ReadOnly = true

	if s, err := Open(ctx, ro); err == nil {
		s.Close()
		t.Fatalf("read-only Open of a missing database succeeded")
	} else if !strings.Contains(err.Error(), name) {
		t.Fatalf("read-only Open of a missing database: %v, want it to name %s", err, name)
	}
	if _, err := adminDB(t).ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	if s, err := Open(ctx, ro); err == nil {
		s.Close()
		t.Fatalf("read-only Open without a schema succeeded")
	} else if !strings.Contains(err.Error(), "schema version 0") {
		t.Fatalf("read-only Open without a schema: %v, want a schema version error", err)
	}

	rw := openTest(t, name)
	defer rw.Close()
	c := dbtest.NewCertificates(t).New(t, dbtest.Serial(1))
	if err := rw.StoreCertificate(ctx, c); err != nil {
		t.Fatalf("StoreCertificate: %v", err)
	}
	r := dbtest.NewRevocation(c.Serial, true)
	if err := rw.Revoke(ctx, r); err != nil {
		t.Fatalf("Revoke: %v", err)
	}

	s := openWith(t, ro)
	defer s.Close()
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
	writes := []struct {
		name string
		call func() error
	}{
		{"UseToken", func() error { return s.UseToken(ctx, "jti", []byte("t")) }},
		{"StoreCertificate", func() error { return s.StoreCertificate(ctx, c) }},
		{"Revoke", func() error { return s.Revoke(ctx, dbtest.NewRevocation(dbtest.Serial(2), false)) }},
	}
	for _, w := range writes {
		if err := w.call(); !errs.Is(err, errs.Unavailable) || !strings.Contains(err.Error(), "read-only") {
			t.Fatalf("read-only %s: %v, want a read-only error of kind %v", w.name, err, errs.Unavailable)
		}
	}
	if err := rw.UseToken(ctx, "jti", []byte("t")); err != nil {
		t.Fatalf("UseToken of the key the read-only store refused: %v", err)
	}
}

func TestRecordChecks(t *testing.T) {
	t.Parallel()
	s := openTest(t, newDatabase(t))
	defer s.Close()
	ctx := context.Background()
	f := dbtest.NewCertificates(t)
	longSerial := dbtest.NewRevocation(strings.Repeat("1", maxSerialLen+1), false)
	nulReason := dbtest.NewRevocation(dbtest.Serial(1), false)
	nulReason.Reason = "a\x00b"
	badUTF8 := dbtest.NewRevocation(dbtest.Serial(2), false)
	badUTF8.TokenID = "\xff"
	tests := []struct {
		name string
		call func() error
	}{
		{"empty token key", func() error { return s.UseToken(ctx, "", []byte("t")) }},
		{"long token key", func() error { return s.UseToken(ctx, strings.Repeat("k", maxTokenKeyLen+1), []byte("t")) }},
		{"huge token", func() error { return s.UseToken(ctx, "k", make([]byte, maxValueLen+1)) }},
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
	c.Subject, c.Provisioner = "bad\xffname\x00", strings.Repeat("é", maxIndexText)
	if err := s.StoreCertificate(ctx, c); err != nil {
		t.Fatalf("StoreCertificate with odd index fields: %v", err)
	}
	got, err := s.GetCertificate(ctx, c.Serial)
	if err != nil {
		t.Fatalf("GetCertificate: %v", err)
	}
	if want := strings.Repeat("é", maxIndexText/2); got.Subject != "bad\uFFFDname" || got.Provisioner != want {
		t.Fatalf("stored subject %q, provisioner of %d bytes; want %q and %d bytes", got.Subject, len(got.Provisioner), "bad\uFFFDname", len(want))
	}
}

func TestRedactDSN(t *testing.T) {
	t.Parallel()
	tests := []struct{ dsn, secret string }{
		{"root:pa55w0rd@tcp(127.0.0.1:3306)/db", "pa55w0rd"},
		{"root:pa:55@w0rd@tcp(127.0.0.1:3306/db", "pa:55@w0rd"},
		{"step:pa55w0rd@unix(/run/mysqld.sock)/db?parseTime=x", "pa55w0rd"},
	}
	for _, tc := range tests {
		msg := redactDSN(tc.dsn, "invalid DSN "+tc.dsn)
		if strings.Contains(msg, tc.secret) || !strings.Contains(msg, "xxxxx") {
			t.Fatalf("redactDSN(%q) = %q, want the password replaced", tc.dsn, msg)
		}
	}
}
