package badger

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	badgerdb "github.com/dgraph-io/badger/v4"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/db/dbtest"
)

// rawDump opens dir with badger directly and returns every key and value.
func rawDump(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	db, err := badgerdb.Open(badgerdb.DefaultOptions(dir).WithLogger(nil).WithMemTableSize(testMemTableSize))
	if err != nil {
		t.Fatalf("open %s with badger: %v", dir, err)
	}
	defer db.Close()
	out := map[string][]byte{}
	err = db.View(func(txn *badgerdb.Txn) error {
		it := txn.NewIterator(badgerdb.DefaultIteratorOptions)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			out[string(it.Item().KeyCopy(nil))] = v
		}
		return nil
	})
	if err != nil {
		t.Fatalf("dump %s: %v", dir, err)
	}
	return out
}

// rawWrite writes key/value pairs into dir with badger directly.
func rawWrite(t *testing.T, dir string, kv map[string][]byte) {
	t.Helper()
	db, err := badgerdb.Open(badgerdb.DefaultOptions(dir).WithLogger(nil).WithMemTableSize(testMemTableSize))
	if err != nil {
		t.Fatalf("open %s with badger: %v", dir, err)
	}
	defer db.Close()
	err = db.Update(func(txn *badgerdb.Txn) error {
		for k, v := range kv {
			if err := txn.Set([]byte(k), v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("write %s: %v", dir, err)
	}
}

func unhex(t *testing.T, s string) string {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return string(b)
}

// TestLayoutMatchesStepCA checks the exact bytes step-ca's tooling reads
// (wire-spec §6.2/§6.3).
func TestLayoutMatchesStepCA(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	s := openTest(t, dir)
	c := dbtest.NewCertificates(t).New(t, "2263")
	if err := s.StoreCertificate(ctx, c); err != nil {
		t.Fatalf("StoreCertificate: %v", err)
	}
	if err := s.UseToken(ctx, "6925abc", []byte("eyJhbGciOiJFUzI1NiJ9.e30.sig")); err != nil {
		t.Fatalf("UseToken: %v", err)
	}
	rev := &store.Revocation{
		Serial: "2263", ProvisionerID: "admin:fZUC", ReasonCode: 1, Reason: "key compromised",
		RevokedAt: time.Date(2026, 11, 22, 17, 58, 48, 378133084, time.UTC),
		TokenID:   "6925abc",
	}
	if err := s.Revoke(ctx, rev); err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	got := rawDump(t, dir)
	want := map[string][]byte{
		// Table markers: u16le(len) || name, empty value.
		unhex(t, "0a00") + "x509_certs":                                  {},
		unhex(t, "0f00") + "x509_certs_data":                             {},
		unhex(t, "1200") + "revoked_x509_certs":                          {},
		unhex(t, "0800") + "x509_crl":                                    {},
		unhex(t, "0800") + "used_ott":                                    {},
		unhex(t, "0900") + "ssh_certs":                                   {},
		unhex(t, "0900") + "ssh_hosts":                                   {},
		unhex(t, "0900") + "ssh_users":                                   {},
		unhex(t, "1300") + "ssh_host_principals":                         {},
		unhex(t, "1100") + "revoked_ssh_certs":                           {},
		unhex(t, "0a00") + "x509_certs" + unhex(t, "0400") + "2263":      c.DER,
		unhex(t, "0f00") + "x509_certs_data" + unhex(t, "0400") + "2263": c.Data,
		unhex(t, "0800") + "used_ott" + unhex(t, "0700") + "6925abc":     []byte("eyJhbGciOiJFUzI1NiJ9.e30.sig"),
		unhex(t, "1200") + "revoked_x509_certs" + unhex(t, "0400") + "2263": []byte(
			`{"Serial":"2263","ProvisionerID":"admin:fZUC","ReasonCode":1,"Reason":"key compromised",` +
				`"RevokedAt":"2026-11-22T17:58:48.378133084Z","ExpiresAt":"0001-01-01T00:00:00Z",` +
				`"TokenID":"6925abc","MTLS":false,"ACME":false}`),
	}
	for k, v := range want {
		g, ok := got[k]
		if !ok {
			t.Fatalf("key %q missing from the database", k)
		}
		if !bytes.Equal(g, v) {
			t.Fatalf("key %q = %q, want %q", k, g, v)
		}
	}
	if len(got) != len(want) {
		for k := range got {
			if _, ok := want[k]; !ok {
				t.Fatalf("unexpected key %q in the database", k)
			}
		}
	}
}

// TestReadsStepCARecords opens records laid out by step-ca's code (written
// here with badger directly) through the store.
func TestReadsStepCARecords(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	c := dbtest.NewCertificates(t).New(t, "77")
	revJSON := `{"Serial":"77","ProvisionerID":"sshpop/sshpop","ReasonCode":0,"Reason":"","RevokedAt":"2026-11-22T17:58:48.378133084Z","ExpiresAt":"2026-11-23T17:58:36Z","TokenID":"","MTLS":true,"ACME":false}`
	rawWrite(t, dir, map[string][]byte{
		string(recordKey("x509_certs", "77")):         c.DER,
		string(recordKey("x509_certs_data", "77")):    c.Data,
		string(recordKey("x509_certs", "78")):         c.DER, // no data record
		string(recordKey("revoked_x509_certs", "77")): []byte(revJSON),
		string(recordKey("used_ott", "jti-1")):        []byte("tok"),
	})
	s := openTest(t, dir)
	defer s.Close()

	got, err := s.GetCertificate(ctx, "77")
	if err != nil {
		t.Fatalf("GetCertificate: %v", err)
	}
	if d := dbtest.EqualCertificate(c, got); d != "" {
		t.Fatalf("GetCertificate: %s", d)
	}
	got, err = s.GetCertificate(ctx, "78")
	if err != nil {
		t.Fatalf("GetCertificate without a data record: %v", err)
	}
	if got.Data != nil || got.Provisioner != "" || got.Subject != c.Subject {
		t.Fatalf("GetCertificate without a data record = %+v, want nil Data, empty Provisioner", got)
	}
	r, err := s.GetRevocation(ctx, "77")
	if err != nil {
		t.Fatalf("GetRevocation: %v", err)
	}
	wantRev := &store.Revocation{
		Serial: "77", ProvisionerID: "sshpop/sshpop",
		RevokedAt: time.Date(2026, 11, 22, 17, 58, 48, 378133084, time.UTC),
		ExpiresAt: time.Date(2026, 11, 23, 17, 58, 36, 0, time.UTC), MTLS: true,
	}
	if d := dbtest.EqualRevocation(wantRev, r); d != "" {
		t.Fatalf("GetRevocation: %s", d)
	}
	if err := s.UseToken(ctx, "jti-1", []byte("tok")); !errors.Is(err, store.ErrTokenUsed) {
		t.Fatalf("UseToken of a key step-ca recorded: %v, want ErrTokenUsed", err)
	}
}

func TestCorruptCertificateRecord(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	rawWrite(t, dir, map[string][]byte{string(recordKey("x509_certs", "5")): []byte("not DER")})
	s := openTest(t, dir)
	defer s.Close()
	_, err := s.GetCertificate(context.Background(), "5")
	if err == nil || errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetCertificate of a corrupt record: err = %v, want a parse error", err)
	}
}
