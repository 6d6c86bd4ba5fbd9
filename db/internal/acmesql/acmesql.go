// Package acmesql describes how the SQL backends keep the ACME tables
// (wire-spec §6.4) since schema version 7: the object tables (accounts,
// orders, authorizations, challenges, certificates, nonces, EAB keys) are
// real tables whose indexed columns are extracted from step-ca's JSON,
// which is kept whole in the value column; the step-ca index tables stay
// key/value tables (nkey, nvalue).
//
// Extraction never fails: a value that is not JSON, or a field of the wrong
// type, too long or holding a NUL byte, leaves its column NULL, and the
// value is stored as given. The columns answer queries (and housekeeping);
// the ACME server's invariants (one account per key, one certificate per
// serial) live in the index tables, so a record's content can never make a
// write fail.
package acmesql

import (
	"bytes"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/mayfly-pki/mayfly/authority/store"
)

// Table is how one logical ACME table is stored: its SQL table (step-ca's
// bucket name), key and value columns, and the columns extracted from the
// value.
type Table struct {
	Name       string
	Key, Value string
	// Columns are the extracted columns, in the order of Extract's values:
	// a name ending in "_at" is a time, any other is text.
	Columns []string
	// Indexes lists the columns of each secondary index.
	Indexes [][]string
	extract func(*fields) []any
}

// IsTime reports whether column holds a time (else text).
func IsTime(column string) bool { return strings.HasSuffix(column, "_at") }

// IndexName is the name of the index on cols of table t.
func IndexName(t Table, cols []string) string {
	return t.Name + "_" + strings.Join(cols, "_") + "_idx"
}

// Real reports whether t has extracted columns (a schema-7 table).
func (t Table) Real() bool { return t.extract != nil }

// Extract returns the values of t.Columns for value: a string, a
// time.Time (UTC) or nil (NULL) each.
func (t Table) Extract(value []byte) []any {
	if t.extract == nil {
		return nil
	}
	// Unmarshal checks the whole value's syntax before setting anything,
	// and every field is raw: a value that is not a JSON object leaves
	// every field empty (and its columns NULL), so the error says nothing
	// more.
	var f fields
	_ = json.Unmarshal(value, &f)
	return t.extract(&f)
}

// AllColumns returns Key, Value and Columns: the columns of an insert.
func (t Table) AllColumns() []string {
	return append([]string{t.Key, t.Value}, t.Columns...)
}

// Args returns the values of AllColumns for key and value.
func (t Table) Args(key string, value []byte) []any {
	return append([]any{[]byte(key), value}, t.Extract(value)...)
}

// Key/value column names of the index tables (migration 4) and of the real
// tables (migration 7).
const (
	KVKey, KVValue     = "nkey", "nvalue"
	RealKey, RealValue = "id", "value"
)

func realTable(name string, cols []string, indexes [][]string, extract func(*fields) []any) Table {
	return Table{Name: name, Key: RealKey, Value: RealValue, Columns: cols, Indexes: indexes, extract: extract}
}

// tables are the schema-7 tables. Migration 7 creates them from these
// descriptions: changing a column or an index needs a new migration.

var tables = map[string]Table{
	store.TableACMEAccounts: realTable(store.TableACMEAccounts,
		[]string{"key_id", "status", "provisioner_id", "created_at"},
		[][]string{{"key_id"}},
		func(f *fields) []any {
			return []any{thumbprint(f.Key), str(f.Status), str(f.ProvisionerID), timeOf(f.CreatedAt)}
		}),
	store.TableACMEOrders: realTable(store.TableACMEOrders,
		[]string{"account_id", "status", "expires_at", "certificate_id"},
		[][]string{{"account_id"}, {"expires_at"}},
		func(f *fields) []any {
			return []any{str(f.AccountID), str(f.Status), timeOf(f.ExpiresAt), str(f.Certificate)}
		}),
	store.TableACMEAuthzs: realTable(store.TableACMEAuthzs,
		[]string{"account_id", "status", "expires_at"},
		[][]string{{"account_id"}, {"expires_at"}},
		func(f *fields) []any { return []any{str(f.AccountID), str(f.Status), timeOf(f.ExpiresAt)} }),
	store.TableACMEChallenges: realTable(store.TableACMEChallenges,
		[]string{"authz_id", "status"},
		[][]string{{"authz_id"}},
		func(f *fields) []any { return []any{str(f.AuthzID), str(f.Status)} }),
	store.TableACMECerts: realTable(store.TableACMECerts,
		[]string{"account_id", "order_id", "serial"},
		[][]string{{"account_id"}, {"serial"}},
		func(f *fields) []any { return []any{str(f.AccountID), str(f.OrderID), serialOf(f.Leaf)} }),
	store.TableACMENonces: realTable(store.TableACMENonces,
		[]string{"created_at"},
		[][]string{{"created_at"}},
		func(f *fields) []any {
			// A nonce whose value has no time gets the time of the write,
			// so that housekeeping still prunes it.
			if t := timeOf(f.CreatedAt); t != nil {
				return []any{t}
			}
			return []any{time.Now().UTC()}
		}),
	store.TableACMEEABKeys: realTable(store.TableACMEEABKeys,
		[]string{"provisioner_id", "reference", "account_id"},
		[][]string{{"provisioner_id", "reference"}},
		func(f *fields) []any { return []any{str(f.ProvisionerID), str(f.Reference), str(f.AccountID)} }),
}

// For returns how table (one of store.ACMETables) is stored.
func For(table string) Table {
	if t, ok := tables[table]; ok {
		return t
	}
	return Table{Name: table, Key: KVKey, Value: KVValue}
}

// RealTables returns the tables of migration 7, in store.ACMETables order.
func RealTables() []Table {
	var out []Table
	for _, name := range store.ACMETables() {
		if t := For(name); t.Real() {
			out = append(out, t)
		}
	}
	return out
}

// MaxText bounds an extracted text column (longer values are NULL), which
// keeps every index entry small.
const MaxText = 255

// fields are the JSON fields the columns come from. encoding/json matches
// names case-insensitively, so the nonce record's "ID"/"CreatedAt" match
// too. Each is kept raw and decoded on its own: one field of the wrong type
// does not lose the others.
type fields struct {
	Key           json.RawMessage `json:"key"`
	Status        json.RawMessage `json:"status"`
	ProvisionerID json.RawMessage `json:"provisionerID"`
	CreatedAt     json.RawMessage `json:"createdAt"`
	ExpiresAt     json.RawMessage `json:"expiresAt"`
	AccountID     json.RawMessage `json:"accountID"`
	Certificate   json.RawMessage `json:"certificate"`
	AuthzID       json.RawMessage `json:"authzID"`
	OrderID       json.RawMessage `json:"orderID"`
	Leaf          json.RawMessage `json:"leaf"`
	Reference     json.RawMessage `json:"reference"`
}

// str decodes a JSON string fit for a text column, or returns nil.
func str(raw json.RawMessage) any {
	var s string
	if len(raw) == 0 || json.Unmarshal(raw, &s) != nil || s == "" || len(s) > MaxText || strings.IndexByte(s, 0) >= 0 {
		return nil
	}
	return s
}

// timeOf decodes a JSON time, or returns nil for none, the zero time and
// times outside years 1000-9999 (MySQL's DATETIME range).
func timeOf(raw json.RawMessage) any {
	var t time.Time
	if len(raw) == 0 || json.Unmarshal(raw, &t) != nil || t.Year() < 1000 || t.Year() > 9999 {
		return nil
	}
	return t.UTC()
}

// thumbprint returns the RFC 7638 thumbprint of a JWK (base64url SHA-256,
// the key of acme_keyID_accountID_index), or nil.
func thumbprint(raw json.RawMessage) any {
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil
	}
	var k jose.JSONWebKey
	if err := k.UnmarshalJSON(raw); err != nil {
		return nil
	}
	b, err := k.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// serialOf returns the decimal serial number of a DER certificate given as
// JSON base64 (the key of acme_serial_certs_index), or nil.
func serialOf(raw json.RawMessage) any {
	var der []byte
	if len(raw) == 0 || json.Unmarshal(raw, &der) != nil {
		return nil
	}
	in := cryptobyte.String(der)
	var cert, tbs cryptobyte.String
	if !in.ReadASN1(&cert, cbasn1.SEQUENCE) || !cert.ReadASN1(&tbs, cbasn1.SEQUENCE) ||
		!tbs.SkipOptionalASN1(cbasn1.Tag(0).Constructed().ContextSpecific()) {
		return nil
	}
	serial := new(big.Int)
	if !tbs.ReadASN1Integer(serial) {
		return nil
	}
	s := serial.String()
	if len(s) > MaxText {
		return nil
	}
	return s
}

// Record is one record of a scan.
type Record struct {
	Key, Value []byte
}

// ScanPage is how many records one query of a scan reads.
const ScanPage = 500

// NonceMaxAge is how old an unused nonce gets before housekeeping deletes
// it: nonces are single use and clients fetch a fresh one for each
// request, so one unused for an hour is abandoned.
const NonceMaxAge = time.Hour

// PruneBatch bounds the nonces one DELETE removes.
const PruneBatch = 1000

// PruneNonces deletes the nonces created more than NonceMaxAge before
// now: it calls del(before, PruneBatch), which deletes up to that many
// nonces created before before and returns how many it deleted, until a
// call deletes fewer or fails.
func PruneNonces(now time.Time, del func(before time.Time, limit int) (int, error)) error {
	before := now.Add(-NonceMaxAge).UTC()
	for {
		n, err := del(before, PruneBatch)
		if err != nil || n < PruneBatch {
			return err
		}
	}
}
