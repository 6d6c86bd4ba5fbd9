package importer

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"math/big"
	"path/filepath"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/mayfly-pki/mayfly/authority/acme"
	"github.com/mayfly-pki/mayfly/authority/store"
	mayflydb "github.com/mayfly-pki/mayfly/db"
)

// acmeFixture is one ACME account with an order, its authorization and
// challenge, its certificate and an EAB key, as the ACME server writes
// them (records and index records), plus a nonce, which db import does not
// carry.
type acmeFixture struct {
	key     *jose.JSONWebKey
	records map[[2]string][]byte // table, key → value
	accID   string
	orderID string
	serial  string
	nonce   string
}

func newACMEFixture(t *testing.T) *acmeFixture {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jwk := &jose.JSONWebKey{Key: priv.Public(), Algorithm: "ES256"}
	tp, err := acme.Thumbprint(jwk)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(987654321), Subject: pkix.Name{CommonName: "a.example"},
		DNSNames: []string{"a.example"}, NotBefore: now, NotAfter: now.Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, priv.Public(), priv)
	if err != nil {
		t.Fatal(err)
	}
	fx := &acmeFixture{key: jwk, records: map[[2]string][]byte{}, accID: "acc1", orderID: "ord1", serial: "987654321", nonce: "nonce1"}
	put := func(table, key string, v any) {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		fx.records[[2]string{table, key}] = b
	}
	ident := acme.Identifier{Type: "dns", Value: "a.example"}
	put(store.TableACMEAccounts, "acc1", acme.Account{ID: "acc1", Key: jwk, Status: acme.StatusValid,
		ProvisionerID: "prov1", ProvisionerName: "acme", CreatedAt: now, Contact: []string{"mailto:a@example.com"}})
	fx.records[[2]string{store.TableACMEKeyIndex, tp}] = []byte("acc1")
	put(store.TableACMEChallenges, "ch1", acme.Challenge{ID: "ch1", AccountID: "acc1", AuthzID: "az1", Type: "http-01",
		Status: acme.StatusValid, Token: "tok", Value: "a.example", CreatedAt: now})
	put(store.TableACMEAuthzs, "az1", acme.Authz{ID: "az1", AccountID: "acc1", Identifier: ident, Status: acme.StatusValid,
		Token: "tok", ChallengeIDs: []string{"ch1"}, CreatedAt: now, ExpiresAt: now.Add(24 * time.Hour)})
	put(store.TableACMEOrders, "ord1", acme.Order{ID: "ord1", AccountID: "acc1", ProvisionerID: "prov1",
		Identifiers: []acme.Identifier{ident}, AuthorizationIDs: []string{"az1"}, Status: acme.StatusValid,
		NotBefore: now, NotAfter: now.Add(time.Hour), CreatedAt: now, ExpiresAt: now.Add(24 * time.Hour), CertificateID: "cert1"})
	put(store.TableACMEAccountOrders, "acc1", []string{"ord1"})
	put(store.TableACMECerts, "cert1", acme.Certificate{ID: "cert1", CreatedAt: now, AccountID: "acc1", OrderID: "ord1", Leaf: der})
	put(store.TableACMESerialCerts, fx.serial, map[string]string{"serial": fx.serial, "certificateID": "cert1"})
	put(store.TableACMEEABKeys, "eab1", acme.EABKey{ID: "eab1", ProvisionerID: "prov1", Reference: "ref1",
		HmacKey: bytes.Repeat([]byte{7}, 32), CreatedAt: now})
	put(store.TableACMEEABReference, "prov1.ref1", map[string]string{"reference": "ref1", "externalAccountKeyID": "eab1"})
	put(store.TableACMEEABProvIndex, "prov1", []string{"eab1"})
	return fx
}

// write puts fx's records and its nonce into st.
func (fx *acmeFixture) write(t *testing.T, st store.Store) {
	t.Helper()
	err := st.(store.ACMEStore).ACMEUpdate(context.Background(), func(tx store.ACMETx) error {
		for k, v := range fx.records {
			tx.Put(k[0], k[1], v)
		}
		tx.Put(store.TableACMENonces, fx.nonce, []byte(`{"ID":"nonce1","CreatedAt":"2026-01-01T00:00:00Z"}`))
		return nil
	})
	if err != nil {
		t.Fatalf("write the ACME records: %v", err)
	}
}

// check verifies that st holds fx's records (and not its nonce), and that
// the ACME server finds the account by its key, the order and the
// certificate by its serial.
func (fx *acmeFixture) check(t *testing.T, st store.Store) {
	t.Helper()
	ctx := context.Background()
	as := st.(store.ACMEStore)
	for k, want := range fx.records {
		got, err := as.ACMEGet(ctx, k[0], k[1])
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%s[%s] = %q, %v; want %q", k[0], k[1], got, err, want)
		}
	}
	if _, err := as.ACMEGet(ctx, store.TableACMENonces, fx.nonce); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the nonce was imported: %v", err)
	}
	svc := acme.New(acme.Deps{Store: as})
	acc, err := svc.AccountByKey(ctx, fx.key)
	if err != nil || acc.ID != fx.accID {
		t.Fatalf("AccountByKey = %+v, %v", acc, err)
	}
	o, err := svc.Order(ctx, fx.accID, fx.orderID)
	if err != nil || o.CertificateID != "cert1" || o.Status != acme.StatusValid {
		t.Fatalf("Order = %+v, %v", o, err)
	}
	c, err := svc.CertificateBySerial(ctx, fx.serial)
	if err != nil || c.ID != "cert1" || c.OrderID != fx.orderID {
		t.Fatalf("CertificateBySerial = %+v, %v", c, err)
	}
}

// TestImportACMEBetweenMayflyStores: db import from one Mayfly database to
// another (FromStore, as --from-config opens it) carries the ACME tables
// but nonces, in both directions between the SQL backends (real tables
// since schema 7) and the embedded ones (step-ca's buckets); a second
// import finds every record present.
func TestImportACMEBetweenMayflyStores(t *testing.T) {
	t.Parallel()
	open := func(t *testing.T, kind string) store.Store {
		t.Helper()
		var o mayflydb.Options
		switch kind {
		case "postgresql":
			name, _ := createDB(t, adminDB(t, true), true)
			o = mayflydb.Options{Type: "postgresql", DataSource: "postgresql://postgres@127.0.0.1:5432/?sslmode=disable", Database: name}
		case "mysql":
			name, _ := createDB(t, adminDB(t, false), false)
			o = mayflydb.Options{Type: "mysql", DataSource: "root@tcp(127.0.0.1:3306)/", Database: name}
		case "badger":
			o = mayflydb.Options{Type: "badger", DataSource: filepath.Join(t.TempDir(), "db")}
		case "bbolt":
			o = mayflydb.Options{Type: "bbolt", DataSource: filepath.Join(t.TempDir(), "ca.db")}
		}
		st, err := mayflydb.Open(context.Background(), &o, nil)
		if err != nil {
			t.Fatalf("open %s: %v", kind, err)
		}
		return st
	}
	for _, tc := range []struct{ from, to string }{
		{"postgresql", "badger"}, {"badger", "postgresql"}, {"mysql", "bbolt"}, {"bbolt", "mysql"},
	} {
		t.Run(tc.from+" to "+tc.to, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			fx := newACMEFixture(t)
			src := open(t, tc.from)
			fx.write(t, src)
			source, err := FromStore(src, tc.from+" source")
			if err != nil {
				t.Fatal(err)
			}
			defer source.Close()
			dst := open(t, tc.to)
			defer dst.Close()
			for run, second := range []bool{false, true} {
				stats, err := Import(ctx, dst, source, Options{})
				if err != nil {
					t.Fatalf("import %d: %v", run+1, err)
				}
				want, present := len(fx.records), 0
				if second {
					want, present = 0, len(fx.records)
				}
				if stats.ACMERecords != want || stats.ACMERecordsPresent != present {
					t.Fatalf("import %d: %d ACME records written, %d present; want %d, %d (%s)",
						run+1, stats.ACMERecords, stats.ACMERecordsPresent, want, present, stats)
				}
				fx.check(t, dst)
			}
		})
	}
}

// TestOpenStepFindsMayflyDatabase: --from on a MySQL or PostgreSQL
// database that Mayfly wrote is recognised (MayflySourceError, no
// password in its text), and the store step-ca db import then opens
// read-only carries the ACME records like --from-config.
func TestOpenStepFindsMayflyDatabase(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		typ      string
		postgres bool
		dsn      string
		from     func(db string) string
	}{
		{"postgresql", true, "postgresql://postgres@127.0.0.1:5432/?sslmode=disable",
			func(db string) string { return "postgresql://postgres@127.0.0.1:5432/" + db + "?sslmode=disable" }},
		{"mysql", false, "root@tcp(127.0.0.1:3306)/",
			func(db string) string { return "mysql:root@tcp(127.0.0.1:3306)/" + db }},
	} {
		t.Run(tc.typ, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			name, _ := createDB(t, adminDB(t, tc.postgres), tc.postgres)
			st, err := mayflydb.Open(ctx, &mayflydb.Options{Type: tc.typ, DataSource: tc.dsn, Database: name}, nil)
			if err != nil {
				t.Fatal(err)
			}
			fx := newACMEFixture(t)
			fx.write(t, st)
			if err := st.Close(); err != nil {
				t.Fatal(err)
			}
			_, err = OpenStep(ctx, tc.from(name), StepOptions{})
			var m *MayflySourceError
			if !errors.As(err, &m) || m.Type != tc.typ || !strings.Contains(m.Display, name) {
				t.Fatalf("OpenStep of a Mayfly database = %v, want a MayflySourceError of type %s naming %s", err, tc.typ, name)
			}
			ro, err := mayflydb.Open(ctx, &mayflydb.Options{Type: m.Type, DataSource: m.DataSource, Database: m.Database, ReadOnly: true}, nil)
			if err != nil {
				t.Fatalf("open the source read-only: %v", err)
			}
			src, err := FromStore(ro, m.Display)
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			dst, _ := openBadger(t)
			stats, err := Import(ctx, dst, src, Options{})
			if err != nil || stats.ACMERecords != len(fx.records) {
				t.Fatalf("import: %v, %v; want %d ACME records", stats, err, len(fx.records))
			}
			fx.check(t, dst)
		})
	}
}
