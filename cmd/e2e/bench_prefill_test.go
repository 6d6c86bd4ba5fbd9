package e2e

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	badgerdb "github.com/dgraph-io/badger/v4"
)

// TestBenchPrefillLayoutMatchesAPI: bench-prefill (the filler behind `make
// bench BENCH_ARGS=--prefill N`) leaves in the database exactly the kinds
// of records a sign through the API does, so a prefilled database stands
// for one grown by API signs. One certificate is signed through the API by
// `step ca certificate`, three by bench-prefill; the raw Badger records are
// compared table by table: the same tables, one x509_certs (the DER, issued
// by the intermediate), one x509_certs_data (byte-identical JSON) and one
// used_ott record (a compact JWS, keyed like the API's) per certificate.
func TestBenchPrefillLayoutMatchesAPI(t *testing.T) {
	t.Parallel()
	p := initPKI(t)
	fill := filepath.Join(t.TempDir(), "bench-prefill")
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout*5)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", fill, "github.com/mayfly-pki/mayfly/cmd/bench-prefill").CombinedOutput(); err != nil {
		t.Fatalf("go build bench-prefill: %v\n%s", err, out)
	}

	dbDir := filepath.Join(p.caPath, "db")
	ca := p.start(t)
	u := p.client(t)
	crt, key := u.path("api.crt"), u.path("api.key")
	u.ok(t, "ca", "certificate", "api.example.com", crt, key, "--provisioner-password-file", u.path("password.txt"))
	apiSerial := readCerts(t, crt)[0].SerialNumber.String()
	ca.stop(t)
	api := dumpTables(t, dbDir)

	r := runBinary(fill, t.TempDir(), append(os.Environ(), "STEPPATH="+p.caPath), commandTimeout,
		"--ca-config", p.configPath(), "--password-file", p.pwFile, "--n", "3", "--keys", "2")
	if r.code != 0 || r.err != nil || !strings.Contains(r.stderr, "3 certificates in") {
		t.Fatalf("bench-prefill failed:\n%s", r)
	}
	all := dumpTables(t, dbDir)

	tables := func(m map[string]map[string][]byte) []string {
		var out []string
		for name, recs := range m {
			if len(recs) > 0 {
				out = append(out, name)
			}
		}
		slices.Sort(out)
		return out
	}
	if got, want := tables(all), tables(api); !slices.Equal(got, want) {
		t.Fatalf("tables with records after the prefill = %v, after one API sign = %v", got, want)
	}
	if want := []string{"used_ott", "x509_certs", "x509_certs_data"}; !slices.Equal(tables(api), want) {
		t.Fatalf("one API sign wrote records in %v, want %v", tables(api), want)
	}
	inter := readCerts(t, filepath.Join(p.caPath, "certs", "intermediate_ca.crt"))[0]
	for name, recs := range all {
		if n := len(recs); n != 0 && n != 4 {
			t.Errorf("table %s holds %d records after 1 API sign and 3 prefilled, want 4", name, n)
		}
	}
	apiData := all["x509_certs_data"][apiSerial]
	if apiData == nil {
		t.Fatalf("no x509_certs_data record for the API's certificate %s", apiSerial)
	}
	for serial, der := range all["x509_certs"] {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatalf("x509_certs[%s]: %v", serial, err)
		}
		if c.SerialNumber.String() != serial || c.CheckSignatureFrom(inter) != nil {
			t.Errorf("x509_certs[%s] holds serial %s, or is not signed by the intermediate", serial, c.SerialNumber)
		}
		if d := all["x509_certs_data"][serial]; !bytes.Equal(d, apiData) {
			t.Errorf("x509_certs_data[%s] = %s, want the API's %s", serial, d, apiData)
		}
	}
	var apiKey string
	for k := range api["used_ott"] {
		apiKey = k
	}
	for k, v := range all["used_ott"] {
		if len(k) != len(apiKey) || strings.Count(string(v), ".") != 2 {
			t.Errorf("used_ott[%q] = %.40q..., want a key shaped like the API's %q and a compact JWS", k, v, apiKey)
		}
	}
}

// dumpTables opens the Badger v4 directory dir and returns its records by
// table, decoding step-ca's key layout u16le(len)||table||u16le(len)||key.
func dumpTables(t *testing.T, dir string) map[string]map[string][]byte {
	t.Helper()
	db, err := badgerdb.Open(badgerdb.DefaultOptions(dir).WithLogger(nil).WithMemTableSize(16 << 20))
	if err != nil {
		t.Fatalf("open %s: %v", dir, err)
	}
	defer db.Close()
	out := map[string]map[string][]byte{}
	err = db.View(func(txn *badgerdb.Txn) error {
		it := txn.NewIterator(badgerdb.DefaultIteratorOptions)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			k := it.Item().KeyCopy(nil)
			if len(k) < 2 {
				t.Fatalf("key %q is shorter than its length prefix", k)
			}
			n := int(binary.LittleEndian.Uint16(k))
			if len(k) < 2+n {
				t.Fatalf("key %q: table length %d beyond the key", k, n)
			}
			table, rest := string(k[2:2+n]), k[2+n:]
			if out[table] == nil {
				out[table] = map[string][]byte{}
			}
			if len(rest) == 0 {
				continue // the table's marker
			}
			m := int(binary.LittleEndian.Uint16(rest))
			if len(rest) != 2+m {
				t.Fatalf("key %q: record key length %s does not match", k, strconv.Itoa(m))
			}
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			out[table][string(rest[2:])] = v
		}
		return nil
	})
	if err != nil {
		t.Fatalf("read %s: %v", dir, err)
	}
	return out
}
