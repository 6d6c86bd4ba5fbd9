package e2e

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mayfly-pki/mayfly/authority/store"
	mayflydb "github.com/mayfly-pki/mayfly/db"
)

// TestDBImportMayflyPostgreSQL: `step-ca db import --from postgresql:<dsn>`
// of a database a Mayfly CA wrote (its own schema, ACME in real tables)
// into a Badger ca.json carries the certificates and the ACME records; a
// second run finds them all present, and the source is left as it was.
func TestDBImportMayflyPostgreSQL(t *testing.T) {
	t.Parallel()
	name := haPostgres.database(t)
	p := initPKI(t)
	setDB(t, p.configPath(), map[string]any{"type": "postgresql", "dataSource": haPostgres.caDSN, "database": name})
	ca := p.start(t)
	u := p.client(t)
	u.ok(t, "ca", "certificate", "foo.example.com", u.path("foo.crt"), u.path("foo.key"),
		"--provisioner-password-file", u.path("password.txt"))
	ca.stop(t)

	// ACME records as the ACME server writes them (the ACME end-to-end
	// tests drive real clients; here only the copy is under test).
	recs := map[[2]string]string{
		{store.TableACMEAccounts, "acc1"}:      `{"id":"acc1","status":"valid","provisionerID":"acme/acme","createdAt":"2026-01-02T03:04:05Z"}`,
		{store.TableACMEKeyIndex, "thumb1"}:    `acc1`,
		{store.TableACMEOrders, "ord1"}:        `{"id":"ord1","accountID":"acc1","status":"valid","expiresAt":"2026-01-03T03:04:05Z","certificate":"cert1"}`,
		{store.TableACMEAccountOrders, "acc1"}: `["ord1"]`,
		{store.TableACMECerts, "cert1"}:        `{"id":"cert1","accountID":"acc1","orderID":"ord1","leaf":"MAA="}`,
	}
	ctx := context.Background()
	src, err := mayflydb.Open(ctx, &mayflydb.Options{Type: "postgresql", DataSource: haPostgres.caDSN, Database: name}, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = src.(store.ACMEStore).ACMEUpdate(ctx, func(tx store.ACMETx) error {
		for k, v := range recs {
			tx.Put(k[0], k[1], []byte(v))
		}
		tx.Put(store.TableACMENonces, "nonce1", []byte(`{"ID":"nonce1"}`))
		return nil
	})
	if cerr := src.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}

	badgerDir := filepath.Join(p.caPath, "db-badger")
	setDB(t, p.configPath(), map[string]any{"type": "badgerv2", "dataSource": badgerDir, "badgerFileLoadingMode": ""})
	from := "postgresql:postgresql://postgres@127.0.0.1:5432/" + name + "?sslmode=disable"
	for _, want := range []string{
		"imported 1 certificates, 0 revocations, 0 used tokens, 5 ACME records (0 already present)",
		"imported 0 certificates, 0 revocations, 0 used tokens, 0 ACME records (6 already present)",
	} {
		r := p.op.stepCA("db", "import", "--from", from, "--to", p.configPath())
		if r.code != 0 || strings.TrimSpace(r.stdout) != want {
			t.Fatalf("step-ca db import --from %s: want exit 0 and %q:\n%s", from, want, r)
		}
	}

	dst, err := mayflydb.Open(ctx, &mayflydb.Options{Type: "badgerv2", DataSource: badgerDir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	for k, v := range recs {
		got, err := dst.(store.ACMEStore).ACMEGet(ctx, k[0], k[1])
		if err != nil || !bytes.Equal(got, []byte(v)) {
			t.Fatalf("imported %s[%s] = %q, %v; want %q", k[0], k[1], got, err, v)
		}
	}
	if _, err := dst.(store.ACMEStore).ACMEGet(ctx, store.TableACMENonces, "nonce1"); err == nil {
		t.Fatal("a nonce was imported")
	}
}
