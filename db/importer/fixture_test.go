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
	"fmt"
	"math/big"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/db/badger"
)

// checkSSHImported verifies that st holds fx's SSH certificates, the host
// principals of its host certificate, and its SSH revocations.
func checkSSHImported(t testing.TB, st store.Store, fx *fixture) {
	t.Helper()
	ctx := context.Background()
	ss := st.(store.SSHStore)
	for _, want := range fx.sshCerts {
		got, err := ss.GetSSHCertificate(ctx, want.Serial)
		if err != nil || !bytes.Equal(got.Wire, want.Wire) {
			t.Fatalf("ssh certificate %s: %v (wire equal: %t)", want.Serial, err, err == nil && bytes.Equal(got.Wire, want.Wire))
		}
	}
	hosts, err := ss.ListSSHHosts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, h := range hosts {
		got = append(got, fmt.Sprintf("%s=%s@%d", h.Principal, h.Serial, h.Expiry.Unix()))
	}
	var want []string
	for p, v := range fx.tables["ssh_host_principals"] {
		var rec struct {
			Serial string
			Expiry int64
		}
		if err := json.Unmarshal(v, &rec); err != nil {
			t.Fatal(err)
		}
		want = append(want, fmt.Sprintf("%s=%s@%d", p, rec.Serial, rec.Expiry))
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("ssh hosts %v, want %v", got, want)
	}
	for _, want := range fx.sshRevs {
		got, err := ss.GetSSHRevocation(ctx, want.Serial)
		if err != nil {
			t.Fatalf("ssh revocation %s: %v", want.Serial, err)
		}
		gj, _ := json.Marshal(got)
		wj, _ := json.Marshal(want)
		if !bytes.Equal(gj, wj) {
			t.Fatalf("ssh revocation %s:\n got %s\nwant %s", want.Serial, gj, wj)
		}
	}
}

// fixture is a step-ca database's content: table → key → value, with rows
// of tables Mayfly does not import (ACME, SSH, CRL) that Import must count.
type fixture struct {
	tables map[string]map[string][]byte
	certs  []*store.Certificate // what x509_certs(+data) must import as
	revs   []*store.Revocation
	tokens map[string][]byte
	// sshCerts and sshRevs are what ssh_certs and revoked_ssh_certs must
	// import as.
	sshCerts []*store.SSHCertificate
	sshRevs  []*store.Revocation
	// written lists the tables the test's source holds (nil: every
	// table of tables); the records of those Import does not carry are
	// the expected Stats.Skipped.
	written []string
}

// newFixture builds nCerts real certificates (every 7th without
// x509_certs_data), revocations of the first nRevoked in step-ca's JSON,
// one revocation of a serial without certificate, and nTokens used tokens.
func newFixture(t testing.TB, nCerts, nRevoked, nTokens int) *fixture {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	fx := &fixture{tables: map[string]map[string][]byte{
		tableCerts: {}, tableCertsData: {}, tableRevoked: {}, tableUsedOTT: {},
	}, tokens: map[string][]byte{}}
	base := time.Date(2026, 11, 22, 17, 0, 0, 0, time.UTC)
	for i := range nCerts {
		serial := new(big.Int).Add(new(big.Int).Lsh(big.NewInt(1), 120), big.NewInt(int64(i*7919)))
		tmpl := &x509.Certificate{
			SerialNumber: serial,
			Subject:      pkix.Name{CommonName: fmt.Sprintf("host-%d.example.com", i)},
			DNSNames:     []string{fmt.Sprintf("host-%d.example.com", i)},
			NotBefore:    base,
			NotAfter:     base.Add(time.Duration(i+1) * time.Hour),
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			t.Fatal(err)
		}
		c := &store.Certificate{Serial: serial.String(), DER: der, NotAfter: tmpl.NotAfter, Subject: tmpl.Subject.CommonName}
		fx.tables[tableCerts][c.Serial] = der
		if i%7 != 3 {
			prov := fmt.Sprintf("prov-%d", i%3)
			c.Data = []byte(`{"provisioner":{"id":"` + prov + `:kid","name":"` + prov + `","type":"JWK"}}`)
			c.Provisioner = prov
			fx.tables[tableCertsData][c.Serial] = c.Data
		}
		fx.certs = append(fx.certs, c)
	}
	revoke := func(serial string, notAfter time.Time, i int) {
		r := &store.Revocation{
			Serial: serial, ProvisionerID: "admin:fZUCIwsA", ReasonCode: i % 10, Reason: "key compromised",
			RevokedAt: base.Add(time.Duration(i)*time.Minute + 378133084), ExpiresAt: notAfter,
			TokenID: fmt.Sprintf("%064x", i), MTLS: i%2 == 1,
		}
		// step-ca's encoding, written out rather than with encoding/json.
		v := fmt.Sprintf(`{"Serial":%q,"ProvisionerID":%q,"ReasonCode":%d,"Reason":%q,"RevokedAt":%q,"ExpiresAt":%q,"TokenID":%q,"MTLS":%t,"ACME":false}`,
			r.Serial, r.ProvisionerID, r.ReasonCode, r.Reason, r.RevokedAt.Format(time.RFC3339Nano),
			r.ExpiresAt.Format(time.RFC3339Nano), r.TokenID, r.MTLS)
		fx.tables[tableRevoked][serial] = []byte(v)
		fx.revs = append(fx.revs, r)
	}
	for i := range nRevoked {
		revoke(fx.certs[i].Serial, fx.certs[i].NotAfter, i)
	}
	revoke("99999999999999999999", time.Time{}, nRevoked) // no certificate, zero ExpiresAt
	for i := range nTokens {
		k := fmt.Sprintf("%064x", 1000+i)
		tok := []byte(fmt.Sprintf("eyJhbGciOiJFUzI1NiJ9.eyJqdGkiOiIlZCJ9.sig-%d", i))
		fx.tables[tableUsedOTT][k] = tok
		fx.tokens[k] = tok
	}
	fx.tables["acme_accounts"] = map[string][]byte{
		"acc1": []byte(`{"id":"acc1","status":"valid"}`), "acc2": []byte(`{"id":"acc2","status":"valid"}`),
	}
	fx.addSSH(t, key, base)
	fx.tables["x509_crl"] = map[string][]byte{"crl": []byte(`{"Number":1}`)}
	fx.tables["admins"] = map[string][]byte{} // created, empty: not reported
	return fx
}

// wantSkipped is the Stats.Skipped of importing fx: the records of the
// written tables that Import does not carry, by table name.
func (fx *fixture) wantSkipped() []TableCount {
	tables := fx.written
	if tables == nil {
		for name := range fx.tables {
			tables = append(tables, name)
		}
	}
	var want []TableCount
	for _, name := range tables {
		switch name {
		case tableCerts, tableCertsData, tableRevoked, tableUsedOTT:
			continue
		}
		if store.IsACMETable(name) && name != store.TableACMENonces {
			continue // imported
		}
		if isSSHTable(name) {
			continue // imported
		}
		if n := len(fx.tables[name]); n > 0 {
			want = append(want, TableCount{Table: name, Records: n})
		}
	}
	slices.SortFunc(want, func(a, b TableCount) int { return strings.Compare(a.Table, b.Table) })
	return want
}

// addSSH writes step-ca's SSH tables: a host certificate with two
// principals and its ssh_hosts/ssh_host_principals rows, a user certificate
// with its ssh_users row, and revocations of the user certificate and of a
// serial without certificate.
func (fx *fixture) addSSH(t testing.TB, key *ecdsa.PrivateKey, base time.Time) {
	t.Helper()
	signer, err := gossh.NewSignerFromSigner(key)
	if err != nil {
		t.Fatal(err)
	}
	for _, tables := range []string{"ssh_certs", "ssh_hosts", "ssh_users", "ssh_host_principals", "revoked_ssh_certs"} {
		fx.tables[tables] = map[string][]byte{}
	}
	for i, c := range []struct {
		typ        uint32
		principals []string
	}{{gossh.HostCert, []string{"host1.example.com", "10.0.0.1"}}, {gossh.UserCert, []string{"alice"}}} {
		cert := &gossh.Certificate{
			Key: signer.PublicKey(), Serial: uint64(7000000000000000001 + i), CertType: c.typ, KeyId: c.principals[0],
			ValidPrincipals: c.principals, ValidAfter: uint64(base.Unix()), ValidBefore: uint64(base.Add(24 * time.Hour).Unix()),
		}
		if err := cert.SignCert(rand.Reader, signer); err != nil {
			t.Fatal(err)
		}
		rec := &store.SSHCertificate{Serial: fmt.Sprint(cert.Serial), Wire: cert.Marshal(), Host: c.typ == gossh.HostCert,
			Principals: c.principals, ValidBefore: base.Add(24 * time.Hour)}
		fx.tables["ssh_certs"][rec.Serial] = rec.Wire
		for _, p := range c.principals {
			if rec.Host {
				fx.tables["ssh_hosts"][p] = []byte(rec.Serial)
				fx.tables["ssh_host_principals"][p] = []byte(fmt.Sprintf(`{"Serial":%q,"Expiry":%d}`, rec.Serial, rec.ValidBefore.Unix()))
			} else {
				fx.tables["ssh_users"][p] = []byte(rec.Serial)
			}
		}
		fx.sshCerts = append(fx.sshCerts, rec)
	}
	for i, serial := range []string{fx.sshCerts[1].Serial, "12345"} {
		r := &store.Revocation{Serial: serial, ProvisionerID: "sshpop/sshpop", ReasonCode: i, RevokedAt: base.Add(time.Hour), TokenID: fmt.Sprintf("%064x", 5000+i)}
		v := fmt.Sprintf(`{"Serial":%q,"ProvisionerID":%q,"ReasonCode":%d,"Reason":"","RevokedAt":%q,"ExpiresAt":"0001-01-01T00:00:00Z","TokenID":%q,"MTLS":false,"ACME":false}`,
			r.Serial, r.ProvisionerID, r.ReasonCode, r.RevokedAt.Format(time.RFC3339Nano), r.TokenID)
		fx.tables["revoked_ssh_certs"][serial] = []byte(v)
		fx.sshRevs = append(fx.sshRevs, r)
	}
}

// sshRecords is the number of SSH certificates and revocations in the
// written tables of fx: every import writes them.
func (fx *fixture) sshRecords() int {
	n := 0
	for _, name := range fx.writtenTables() {
		if name == "ssh_certs" || name == "revoked_ssh_certs" {
			n += len(fx.tables[name])
		}
	}
	return n
}

// writtenTables is fx.written, or every table of fx when nil.
func (fx *fixture) writtenTables() []string {
	if fx.written != nil {
		return fx.written
	}
	var tables []string
	for name := range fx.tables {
		tables = append(tables, name)
	}
	return tables
}

// acmeRecords is the number of ACME records (nonces aside) in the written
// tables of fx: every import writes them.
func (fx *fixture) acmeRecords() int {
	tables := fx.written
	if tables == nil {
		for name := range fx.tables {
			tables = append(tables, name)
		}
	}
	n := 0
	for _, name := range tables {
		if store.IsACMETable(name) && name != store.TableACMENonces {
			n += len(fx.tables[name])
		}
	}
	return n
}

// openBadger opens a badger store in a new temporary directory.
func openBadger(t testing.TB) (*badger.Store, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "db")
	st, err := badger.Open(context.Background(), badger.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st, dir
}

// checkImported verifies that st holds everything of fx.
func checkImported(t testing.TB, st store.Store, fx *fixture) {
	t.Helper()
	ctx := context.Background()
	if fx.acmeRecords() > 0 {
		for key, want := range fx.tables["acme_accounts"] {
			got, err := st.(store.ACMEStore).ACMEGet(ctx, "acme_accounts", key)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("acme_accounts[%s] = %q, %v; want %q", key, got, err, want)
			}
		}
	}
	if fx.sshRecords() > 0 {
		checkSSHImported(t, st, fx)
	}
	for _, want := range fx.certs {
		got, err := st.GetCertificate(ctx, want.Serial)
		if err != nil {
			t.Fatalf("certificate %s: %v", want.Serial, err)
		}
		if !bytes.Equal(got.DER, want.DER) || !bytes.Equal(got.Data, want.Data) {
			t.Fatalf("certificate %s: DER or data differ: data %q, want %q", want.Serial, got.Data, want.Data)
		}
		if !got.NotAfter.Equal(want.NotAfter) || got.Subject != want.Subject || got.Provisioner != want.Provisioner {
			t.Fatalf("certificate %s: index fields %v %q %q, want %v %q %q", want.Serial,
				got.NotAfter, got.Subject, got.Provisioner, want.NotAfter, want.Subject, want.Provisioner)
		}
	}
	for _, want := range fx.revs {
		got, err := st.GetRevocation(ctx, want.Serial)
		if err != nil {
			t.Fatalf("revocation %s: %v", want.Serial, err)
		}
		gj, _ := json.Marshal(got)
		wj, _ := json.Marshal(want)
		if !bytes.Equal(gj, wj) {
			t.Fatalf("revocation %s:\n got %s\nwant %s", want.Serial, gj, wj)
		}
	}
	for k := range fx.tokens {
		if err := st.UseToken(ctx, k, []byte("x")); !errors.Is(err, store.ErrTokenUsed) {
			t.Fatalf("used token %s: UseToken = %v, want ErrTokenUsed", k, err)
		}
	}
}

// checkStats compares the counts of a first (fresh) or second import.
func checkStats(t testing.TB, got Stats, fx *fixture, second bool) {
	t.Helper()
	want := Stats{Certificates: len(fx.certs), Revocations: len(fx.revs), Tokens: len(fx.tokens)}
	if second {
		want = Stats{CertificatesPresent: len(fx.certs), RevocationsPresent: len(fx.revs), TokensPresent: len(fx.tokens)}
	}
	want.Skipped = fx.wantSkipped()
	if second {
		want.ACMERecordsPresent, want.SSHRecordsPresent = fx.acmeRecords(), fx.sshRecords()
	} else {
		want.ACMERecords, want.SSHRecords = fx.acmeRecords(), fx.sshRecords()
	}
	if got.String() != want.String() || !slices.Equal(got.Skipped, want.Skipped) {
		t.Fatalf("stats %+v, want %+v", got, want)
	}
}

// importTwice imports from open() into a fresh badger store twice and checks
// the content and the idempotence of the second run.
func importTwice(t *testing.T, fx *fixture, open func() Source) {
	t.Helper()
	dst, _ := openBadger(t)
	importTwiceInto(t, dst, fx, open)
}

// importTwiceInto is importTwice into dst.
func importTwiceInto(t *testing.T, dst store.Store, fx *fixture, open func() Source) {
	t.Helper()
	for run, second := range []bool{false, true} {
		src := open()
		var progress bytes.Buffer
		stats, err := Import(context.Background(), dst, src, Options{Progress: &progress, ProgressEvery: 500})
		src.Close()
		if err != nil {
			t.Fatalf("import %d: %v", run+1, err)
		}
		checkStats(t, stats, fx, second)
		if len(fx.certs) >= 500 && !bytes.Contains(progress.Bytes(), []byte("x509_certs: 500 records")) {
			t.Fatalf("import %d: no progress line in %q", run+1, progress.String())
		}
		checkImported(t, dst, fx)
	}
}
