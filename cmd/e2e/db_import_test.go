package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// setDB replaces the "db" block of the ca.json at path.
func setDB(t *testing.T, path string, block map[string]any) {
	t.Helper()
	editConfig(t, path, func(cfg map[string]any) { cfg["db"] = block })
}

// writeStepBolt writes a bbolt file laid out as step-ca's (wire-spec §6.3)
// holding one certificate (serial 4242, CN legacy.example.com, issued by
// provisioner "legacy"), its revocation and one used token.
func writeStepBolt(t *testing.T, path string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(4242), Subject: pkix.Name{CommonName: "legacy.example.com"},
		DNSNames: []string{"legacy.example.com"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(48 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	records := map[string]map[string]string{
		"x509_certs":         {"4242": string(der)},
		"x509_certs_data":    {"4242": `{"provisioner":{"id":"legacy:kid","name":"legacy","type":"JWK"}}`},
		"revoked_x509_certs": {"4242": `{"Serial":"4242","ProvisionerID":"legacy:kid","ReasonCode":1,"Reason":"key compromised","RevokedAt":"2026-01-02T03:04:05.123456789Z","ExpiresAt":"0001-01-01T00:00:00Z","TokenID":"","MTLS":true,"ACME":false}`},
		"used_ott":           {"6925c0ffee": "eyJhbGciOiJFUzI1NiJ9.e30.c2ln"},
		"x509_crl":           {},
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for table, kv := range records {
			b, err := tx.CreateBucket([]byte(table))
			if err != nil {
				return err
			}
			for k, v := range kv {
				if err := b.Put([]byte(k), []byte(v)); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestDBImport migrates a CA's Badger database into a new one with
// `step-ca db import --from-config`, adds a step-ca bbolt database with
// `--from bbolt:`, runs both again (nothing changes), and lists the result
// from the CA started on the new database.
func TestDBImport(t *testing.T) {
	t.Parallel()
	p := initPKI(t)
	ca := p.start(t)
	u := p.client(t)
	pw := u.path("password.txt")
	serials := map[string]string{}
	for _, cn := range []string{"foo.example.com", "bar.example.com"} {
		u.ok(t, "ca", "certificate", cn, u.path(cn+".crt"), u.path(cn+".key"), "--provisioner-password-file", pw)
		serials[cn] = readCerts(t, u.path(cn+".crt"))[0].SerialNumber.String()
	}
	u.ok(t, "ca", "revoke", serials["bar.example.com"], "--reasonCode", "Superseded", "--provisioner-password-file", pw)
	ca.stop(t)

	// ca.json moves to a new Badger directory; old.json keeps the old one.
	old := filepath.Join(p.caPath, "config", "old.json")
	if err := os.WriteFile(old, readFile(t, p.configPath()), 0o600); err != nil {
		t.Fatal(err)
	}
	setDB(t, p.configPath(), map[string]any{"type": "badgerv2", "dataSource": filepath.Join(p.caPath, "db-new"), "badgerFileLoadingMode": ""})
	stepDB := filepath.Join(t.TempDir(), "step.db")
	writeStepBolt(t, stepDB)

	for _, tc := range []struct {
		args   []string
		stdout string
	}{
		{[]string{"--from-config", old}, "imported 2 certificates, 1 revocations, 0 used tokens (0 already present)"},
		{[]string{"--from-config", old}, "imported 0 certificates, 0 revocations, 0 used tokens (3 already present)"},
		{[]string{"--from", "bbolt:" + stepDB, "--to", p.configPath()}, "imported 1 certificates, 1 revocations, 1 used tokens (0 already present)"},
		{[]string{"--from", "bbolt:" + stepDB, "--config", p.configPath()}, "imported 0 certificates, 0 revocations, 0 used tokens (3 already present)"},
	} {
		r := p.op.stepCA(append([]string{"db", "import"}, tc.args...)...)
		if r.code != 0 || strings.TrimSpace(r.stdout) != tc.stdout {
			t.Fatalf("step-ca db import %v: want exit 0 and %q:\n%s", tc.args, tc.stdout, r)
		}
		if !strings.Contains(r.stderr, "importing from ") {
			t.Fatalf("step-ca db import %v: no start line on stderr:\n%s", tc.args, r)
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--from-config", p.configPath()}, "uses the target's own database"},
		{[]string{"--from", "sqlite:x.db"}, `invalid source type "sqlite"`},
		{[]string{}, "give exactly one of --from"},
		{[]string{"--from", "mysql:root:Secret-pw-1@tcp(127.0.0.1:1)/x"}, "127.0.0.1:1/x"},
	} {
		r := p.op.stepCA(append([]string{"db", "import"}, tc.args...)...)
		if r.code != 1 || !strings.Contains(r.stderr, tc.want) || strings.Contains(r.output(), "Secret-pw-1") {
			t.Fatalf("step-ca db import %v: want exit 1 and %q (without the password):\n%s", tc.args, tc.want, r)
		}
	}

	p.start(t)
	var listed []listedCert
	r := u.ok(t, "ca", "certificates", "list", "--format", "json", "--provisioner-password-file", pw)
	if err := json.Unmarshal([]byte(r.stdout), &listed); err != nil {
		t.Fatalf("list: %v\n%s", err, r)
	}
	var got []string
	for _, c := range listed {
		got = append(got, c.Subject+"/"+c.Provisioner+"/"+map[bool]string{true: "revoked", false: "valid"}[c.Revoked])
	}
	slices.Sort(got)
	want := []string{"bar.example.com/admin/revoked", "foo.example.com/admin/valid", "legacy.example.com/legacy/revoked"}
	if !slices.Equal(got, want) {
		t.Fatalf("listed %v, want %v", got, want)
	}
}
