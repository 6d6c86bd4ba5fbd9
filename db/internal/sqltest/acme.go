package sqltest

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/db/internal/acmesql"
)

// ACMERecord is one record of an ACME table.
type ACMERecord struct {
	Table, Key string
	Value      []byte
}

// ACMEOrderAt is the expiresAt of the upgrade records' orders.
var ACMEOrderAt = time.Date(2031, 2, 3, 4, 5, 6, 0, time.UTC)

// ACMEUpgradeRecords are the records a schema-6 database holds in its
// key/value ACME tables before migration 7: at least one in every table,
// more orders than a page of the move (acmesql.ScanPage), a value that is
// not JSON, and an order without the fields the columns come from.
func ACMEUpgradeRecords() []ACMERecord {
	var recs []ACMERecord
	add := func(table, key, value string) { recs = append(recs, ACMERecord{table, key, []byte(value)}) }
	add(store.TableACMEAccounts, "acc1", `{"id":"acc1","status":"valid","provisionerID":"prov1","createdAt":"2030-01-01T00:00:00Z"}`)
	add(store.TableACMEAccounts, "broken", `not JSON at all`)
	add(store.TableACMEKeyIndex, "thumb1", `acc1`)
	for i := range acmesql.ScanPage + 123 {
		id := "ord" + strconv.Itoa(i)
		add(store.TableACMEOrders, id, `{"id":"`+id+`","accountID":"acc1","status":"pending","expiresAt":"`+
			ACMEOrderAt.Format(time.RFC3339)+`","certificate":"cert1"}`)
	}
	add(store.TableACMEOrders, "bare", `{"identifiers":[]}`)
	add(store.TableACMEAccountOrders, "acc1", `["ord0","ord1"]`)
	add(store.TableACMEAuthzs, "az1", `{"id":"az1","accountID":"acc1","status":"valid","expiresAt":"2031-01-01T00:00:00Z"}`)
	add(store.TableACMEChallenges, "ch1", `{"id":"ch1","authzID":"az1","status":"valid"}`)
	add(store.TableACMECerts, "cert1", `{"id":"cert1","accountID":"acc1","orderID":"ord0","leaf":"MAA="}`)
	add(store.TableACMESerialCerts, "123", `{"serial":"123","certificateID":"cert1"}`)
	add(store.TableACMENonces, "nonce1", `{"ID":"nonce1","CreatedAt":"2030-01-01T00:00:00Z"}`)
	add(store.TableACMEEABKeys, "eab1", `{"id":"eab1","provisionerID":"prov1","reference":"ref1"}`)
	add(store.TableACMEEABReference, "prov1.ref1", `{"reference":"ref1","externalAccountKeyID":"eab1"}`)
	add(store.TableACMEEABProvIndex, "prov1", `["eab1"]`)
	return recs
}

// CheckACMERecords fails t unless s holds every record of recs.
func CheckACMERecords(t testing.TB, s store.ACMEStore, recs []ACMERecord) {
	t.Helper()
	for _, r := range recs {
		got, err := s.ACMEGet(context.Background(), r.Table, r.Key)
		if err != nil || !bytes.Equal(got, r.Value) {
			t.Fatalf("after the upgrade, %s[%s] = %q, %v; want %q", r.Table, r.Key, got, err, r.Value)
		}
	}
}

// ACMENonceStore is a SQL store with nonce housekeeping.
type ACMENonceStore interface {
	store.ACMEStore
	store.Maintainer
}

// ACMENoncePruning: Maintain deletes the nonces created more than
// acmesql.NonceMaxAge ago (more than a DELETE's batch of them), and keeps
// the younger ones and those whose value has no time (they count from
// their write).
func ACMENoncePruning(t *testing.T, s ACMENonceStore) {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	old := now.Add(-acmesql.NonceMaxAge - 10*time.Minute)
	young := now.Add(-acmesql.NonceMaxAge + 10*time.Minute)
	nonce := func(id string, at time.Time) []byte {
		return fmt.Appendf(nil, `{"ID":%q,"CreatedAt":%q,"DeletedAt":"0001-01-01T00:00:00Z"}`, id, at.Format(time.RFC3339Nano))
	}
	const stale = acmesql.PruneBatch + 37
	for start := 0; start < stale; start += 500 {
		err := s.ACMEUpdate(ctx, func(tx store.ACMETx) error {
			for i := start; i < min(start+500, stale); i++ {
				id := "old" + strconv.Itoa(i)
				tx.Put(store.TableACMENonces, id, nonce(id, old))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	err := s.ACMEUpdate(ctx, func(tx store.ACMETx) error {
		tx.Put(store.TableACMENonces, "young", nonce("young", young))
		tx.Put(store.TableACMENonces, "untimed", []byte("{}"))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Maintain(ctx); err != nil {
		t.Fatalf("Maintain: %v", err)
	}
	for i := range stale {
		if _, err := s.ACMEGet(ctx, store.TableACMENonces, "old"+strconv.Itoa(i)); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("nonce old%d, created %v ago, survived Maintain: %v", i, now.Sub(old), err)
		}
	}
	for _, id := range []string{"young", "untimed"} {
		if ok, err := s.ACMEConsume(ctx, store.TableACMENonces, id); !ok || err != nil {
			t.Fatalf("nonce %s after Maintain: consume = %v, %v; want it kept", id, ok, err)
		}
	}
}

// ACMEColumn reads column of the record id of a real ACME table: a
// string, a time.Time (UTC) or nil for NULL.
type ACMEColumn func(t testing.TB, table, column, id string) any

// ACMEColumns writes an account with a real JWK, an order, an
// authorization, a challenge, a certificate with a real leaf, a nonce and
// an EAB key, and checks every extracted column through column.
func ACMEColumns(t *testing.T, s store.ACMEStore, column ACMEColumn) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jwk := jose.JSONWebKey{Key: priv.Public(), Algorithm: "ES256"}
	keyJSON, err := jwk.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	sum, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: new(big.Int).Lsh(big.NewInt(1), 100), NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, priv.Public(), priv)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := json.Marshal(der)
	created := time.Date(2030, 5, 6, 7, 8, 9, 123456000, time.UTC)
	expires := created.Add(24 * time.Hour)
	ts := func(t time.Time) string { return `"` + t.Format(time.RFC3339Nano) + `"` }
	recs := []ACMERecord{
		{store.TableACMEAccounts, "acc1", []byte(`{"id":"acc1","key":` + string(keyJSON) + `,"status":"valid","provisionerID":"prov1","createdAt":` + ts(created) + `}`)},
		{store.TableACMEOrders, "ord1", []byte(`{"id":"ord1","accountID":"acc1","status":"ready","expiresAt":` + ts(expires) + `,"certificate":"cert1"}`)},
		{store.TableACMEAuthzs, "az1", []byte(`{"id":"az1","accountID":"acc1","status":"pending","expiresAt":` + ts(expires) + `}`)},
		{store.TableACMEChallenges, "ch1", []byte(`{"id":"ch1","authzID":"az1","status":"processing"}`)},
		{store.TableACMECerts, "cert1", []byte(`{"id":"cert1","accountID":"acc1","orderID":"ord1","leaf":` + string(leaf) + `}`)},
		{store.TableACMENonces, "n1", []byte(`{"ID":"n1","CreatedAt":` + ts(created) + `}`)},
		{store.TableACMEEABKeys, "eab1", []byte(`{"id":"eab1","provisionerID":"prov1","reference":"ref1","accountID":"acc1"}`)},
	}
	want := map[[2]string]map[string]any{
		{store.TableACMEAccounts, "acc1"}: {"key_id": base64.RawURLEncoding.EncodeToString(sum), "status": "valid",
			"provisioner_id": "prov1", "created_at": created},
		{store.TableACMEOrders, "ord1"}:    {"account_id": "acc1", "status": "ready", "expires_at": expires, "certificate_id": "cert1"},
		{store.TableACMEAuthzs, "az1"}:     {"account_id": "acc1", "status": "pending", "expires_at": expires},
		{store.TableACMEChallenges, "ch1"}: {"authz_id": "az1", "status": "processing"},
		{store.TableACMECerts, "cert1"}:    {"account_id": "acc1", "order_id": "ord1", "serial": tmpl.SerialNumber.String()},
		{store.TableACMENonces, "n1"}:      {"created_at": created},
		{store.TableACMEEABKeys, "eab1"}:   {"provisioner_id": "prov1", "reference": "ref1", "account_id": "acc1"},
	}
	err = s.ACMEUpdate(context.Background(), func(tx store.ACMETx) error {
		for _, r := range recs {
			tx.Put(r.Table, r.Key, r.Value)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tab := range acmesql.RealTables() {
		var found bool
		for k, cols := range want {
			if k[0] != tab.Name {
				continue
			}
			found = true
			for _, c := range tab.Columns {
				got, w := column(t, tab.Name, c, k[1]), cols[c]
				if wt, ok := w.(time.Time); ok {
					if gt, ok := got.(time.Time); !ok || !gt.Equal(wt) {
						t.Errorf("%s[%s].%s = %v, want %v", tab.Name, k[1], c, got, w)
					}
				} else if got != w {
					t.Errorf("%s[%s].%s = %v, want %v", tab.Name, k[1], c, got, w)
				}
			}
		}
		if !found {
			t.Errorf("table %s: no record checked", tab.Name)
		}
	}
	// Rewriting a record with a value that is not JSON clears its columns
	// and keeps the value.
	err = s.ACMEUpdate(context.Background(), func(tx store.ACMETx) error {
		tx.Put(store.TableACMEOrders, "ord1", []byte("{oops"))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"account_id", "status", "expires_at", "certificate_id"} {
		if got := column(t, store.TableACMEOrders, c, "ord1"); got != nil {
			t.Errorf("after a non-JSON rewrite, acme_orders[ord1].%s = %v, want NULL", c, got)
		}
	}
}
