package postgresql

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
		want     []string
		wantKind errs.Kind
	}{
		{"empty DSN", Options{}, []string{"db.dataSource is empty"}, errs.Internal},
		{"unparsable URL", Options{DataSource: "postgres://u:" + password + "@127.0.0.1:notaport/db"}, []string{"invalid db.dataSource"}, errs.Internal},
		{"unparsable key=value", Options{DataSource: "host=127.0.0.1 password=" + password + " port=x"}, []string{"invalid db.dataSource"}, errs.Internal},
		{"unreachable", Options{DataSource: "postgres://u:" + password + "@127.0.0.1:1/mayfly?connect_timeout=5"},
			[]string{"postgresql database 127.0.0.1:1/mayfly: open:"}, errs.Unavailable},
		{"unreachable, database option wins", Options{DataSource: "postgres://u:" + password + "@127.0.0.1:1/other?connect_timeout=5", Database: "mayfly"},
			[]string{"postgresql database 127.0.0.1:1/mayfly: open:"}, errs.Unavailable},
		{"unreachable key=value", Options{DataSource: "host=127.0.0.1 port=1 user=u password='" + password + "' dbname=mayfly connect_timeout=5"},
			[]string{"postgresql database 127.0.0.1:1/mayfly: open:"}, errs.Unavailable},
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
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Fatalf("Open error = %q, want it to contain %q", msg, w)
				}
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
	tg := newDatabase(t)
	// Several CAs starting together on a database that does not exist yet:
	// all open, the database is created once and each migration applied once.
	const starters = 4
	stores := make([]*Store, starters)
	errList := make([]error, starters)
	var wg sync.WaitGroup
	for i := range starters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stores[i], errList[i] = Open(context.Background(), tg.options())
		}()
	}
	wg.Wait()
	for i, err := range errList {
		if err != nil {
			t.Fatalf("concurrent Open %d: %v", i, err)
		}
		defer stores[i].Close()
	}
	conn := tg.conn(t)
	ctx := context.Background()
	var versions []int
	rows, err := conn.Query(ctx, "SELECT version FROM mayfly_schema_migrations ORDER BY version")
	if err != nil {
		t.Fatalf("read migrations: %v", err)
	}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		versions = append(versions, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(versions) != latestVersion() || versions[len(versions)-1] != latestVersion() {
		t.Fatalf("mayfly_schema_migrations = %v, want each of 1..%d once", versions, latestVersion())
	}
	// The indexes the inventory queries need exist.
	for _, idx := range []string{"x509_certs_not_after_idx", "x509_certs_provisioner_idx", "x509_certs_subject_idx", "revoked_x509_certs_expires_at_idx"} {
		var n int
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_indexes WHERE indexname = $1", idx).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Fatalf("index %s: found %d, want 1", idx, n)
		}
	}
	// The records are real rows with their index columns.
	c := dbtest.NewCertificates(t).New(t, dbtest.Serial(1))
	if err := stores[0].StoreCertificate(ctx, c); err != nil {
		t.Fatalf("StoreCertificate: %v", err)
	}
	var subject, provisioner string
	if err := conn.QueryRow(ctx, "SELECT subject, provisioner FROM x509_certs WHERE serial = $1 AND not_after = $2",
		c.Serial, c.NotAfter).Scan(&subject, &provisioner); err != nil {
		t.Fatalf("select the stored row: %v", err)
	}
	if subject != c.Subject || provisioner != c.Provisioner {
		t.Fatalf("row has subject %q, provisioner %q; want %q, %q", subject, provisioner, c.Subject, c.Provisioner)
	}
}

func TestOpenRefusesSchemas(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		setup []string // run in the new database before Open
		want  string
	}{
		{"newer schema", []string{
			"CREATE TABLE mayfly_schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
			"INSERT INTO mayfly_schema_migrations (version) VALUES (1), (99)",
		}, "schema version 99, newer than this Mayfly's"},
		{"step-ca database", []string{
			"CREATE TABLE x509_certs (nkey bytea, nvalue bytea, PRIMARY KEY (nkey))",
		}, "holds step-ca's tables"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tg := newSchema(t)
			openTest(t, tg).Close() // creates the tables
			conn := tg.conn(t)
			for _, stmt := range append([]string{"DROP TABLE x509_certs, used_ott, revoked_x509_certs, mayfly_schema_migrations"}, tc.setup...) {
				if _, err := conn.Exec(context.Background(), stmt); err != nil {
					t.Fatalf("%s: %v", stmt, err)
				}
			}
			s, err := Open(context.Background(), tg.options())
			if err == nil {
				s.Close()
				t.Fatalf("Open succeeded, want an error containing %q", tc.want)
			}
			if name := tg.name(t); !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), name) {
				t.Fatalf("Open error = %q, want it to name %s and contain %q", err, name, tc.want)
			}
		})
	}
}

func TestReadOnly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tg := newDatabase(t)
	name := tg.database
	ro := tg.options()
	ro.ReadOnly = true

	// A read-only store never creates the database...
	if s, err := Open(ctx, ro); err == nil {
		s.Close()
		t.Fatalf("read-only Open of a missing database succeeded")
	} else if !strings.Contains(err.Error(), name) {
		t.Fatalf("read-only Open of a missing database: %v, want it to name %s", err, name)
	}
	// ...nor the schema.
	if _, err := adminConn(t).Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	if s, err := Open(ctx, ro); err == nil {
		s.Close()
		t.Fatalf("read-only Open without a schema succeeded")
	} else if !strings.Contains(err.Error(), "schema version 0") {
		t.Fatalf("read-only Open without a schema: %v, want a schema version error", err)
	}

	rw := openTest(t, tg)
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
	s := openTest(t, newSchema(t))
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
		{"postgresql://user:pa55w0rd@host:5432/db", "pa55w0rd"},
		{"postgres://user:pa55w0rd@host:notaport/db?sslmode=disable", "pa55w0rd"},
		{"host=h password=pa55w0rd port=x", "pa55w0rd"},
		{"host=h password = 'pa 55\\'w0rd' port=x", "pa 55\\'w0rd"},
		{"host=h PASSWORD=pa55w0rd", "pa55w0rd"},
	}
	for _, tc := range tests {
		msg := redactDSN(tc.dsn, "cannot parse `"+tc.dsn+"`: bad")
		if strings.Contains(msg, tc.secret) || !strings.Contains(msg, "xxxxx") {
			t.Fatalf("redactDSN(%q) = %q, want the password replaced", tc.dsn, msg)
		}
	}
}
