package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/mayfly-pki/mayfly/db/importer/importertest"
)

// TestDBImportBadgerV2 moves a CA from step-ca's default database, a Badger
// v2 directory: step-ca refuses the directory with a message naming the
// import command, the command is run as printed (twice, then once more
// through --from-config with a step-ca ca.json), and the CA started on the
// imported database lists the certificates and refuses to renew the revoked
// one.
func TestDBImportBadgerV2(t *testing.T) {
	t.Parallel()
	p := initPKI(t)
	ca := p.start(t)
	u := p.client(t)
	pw := u.path("password.txt")
	ders := map[string][]byte{}
	serials := map[string]string{}
	for _, cn := range []string{"foo.example.com", "bar.example.com"} {
		u.ok(t, "ca", "certificate", cn, u.path(cn+".crt"), u.path(cn+".key"), "--provisioner-password-file", pw)
		c := readCerts(t, u.path(cn+".crt"))[0]
		ders[cn], serials[cn] = c.Raw, c.SerialNumber.String()
	}
	ca.stop(t)

	// $(step path)/db becomes what step-ca leaves there: its Badger v2
	// directory with both certificates, bar's revocation, two used tokens,
	// ACME records, an SSH certificate and its revocation, and a CRL record
	// Mayfly does not store.
	dbDir := filepath.Join(p.caPath, "db")
	if err := os.RemoveAll(dbDir); err != nil {
		t.Fatal(err)
	}
	data := []byte(`{"provisioner":{"id":"admin:kid","name":"admin","type":"JWK"}}`)
	bar := serials["bar.example.com"]
	revokedAt := time.Now().UTC().Add(-time.Minute).Format(time.RFC3339Nano)
	sshSerial, sshWire := testSSHCertWire(t)
	tables := importertest.Tables{
		"x509_certs":      {serials["foo.example.com"]: ders["foo.example.com"], bar: ders["bar.example.com"]},
		"x509_certs_data": {serials["foo.example.com"]: data, bar: data},
		"revoked_x509_certs": {bar: []byte(fmt.Sprintf(`{"Serial":%q,"ProvisionerID":"admin:kid","ReasonCode":1,"Reason":"key compromised","RevokedAt":%q,"ExpiresAt":"0001-01-01T00:00:00Z","TokenID":"6925c0ffee","MTLS":false,"ACME":false}`,
			bar, revokedAt))},
		"used_ott":          {"6925c0ffee": []byte("eyJhbGciOiJFUzI1NiJ9.e30.c2ln"), "7a3fc0ffee": []byte("eyJhbGciOiJFUzI1NiJ9.e30.c2lo")},
		"x509_crl":          {"crl": []byte(`{"Number":1}`)},
		"ssh_certs":         {sshSerial: sshWire},
		"revoked_ssh_certs": {sshSerial: []byte(fmt.Sprintf(`{"Serial":%q,"ProvisionerID":"sshpop/sshpop","ReasonCode":0,"Reason":"","RevokedAt":%q,"ExpiresAt":"0001-01-01T00:00:00Z","TokenID":"","MTLS":false,"ACME":false}`, sshSerial, revokedAt))},
		"acme_accounts":     {"acc1": []byte(`{"id":"acc1","status":"valid"}`)},
		"acme_orders":       {"ord1": []byte(`{"id":"ord1","status":"valid"}`)},
		"admins":            {},
	}
	if err := importertest.WriteBadgerV2(dbDir, "", tables); err != nil {
		t.Fatal(err)
	}
	setDB(t, p.configPath(), map[string]any{"type": "badgerv2", "dataSource": dbDir, "badgerFileLoadingMode": ""})

	// step-ca refuses the directory and says what to run.
	r := p.op.stepCA(p.configPath(), "--password-file", p.pwFile)
	const hint = "import it with: "
	_, suggested, ok := strings.Cut(r.stderr, hint)
	if r.code == 0 || !ok {
		t.Fatalf("step-ca on step-ca's Badger v2 directory: want a failure naming the import command:\n%s", r)
	}
	suggested, _, _ = strings.Cut(suggested, "\n")
	moved := dbDir + ".step-ca"
	wantCmd := "mv " + dbDir + " " + moved + " && step-ca db import --from badgerv2:" + moved + " --to " + p.configPath()
	if suggested != wantCmd {
		t.Fatalf("suggested %q\nwant      %q", suggested, wantCmd)
	}

	// Run it as printed, then again: the second run changes nothing.
	const skipped = "skipped 1 records Mayfly does not store yet: x509_crl 1"
	steps := strings.Split(suggested, " && ")
	mv := strings.Fields(steps[0])
	if err := os.Rename(mv[1], mv[2]); err != nil {
		t.Fatal(err)
	}
	importArgs := strings.Fields(steps[1])[1:]
	for _, want := range []string{
		"imported 2 certificates, 1 revocations, 2 used tokens, 2 ACME records, 2 SSH records (0 already present)",
		"imported 0 certificates, 0 revocations, 0 used tokens, 0 ACME records, 0 SSH records (9 already present)",
	} {
		r := p.op.stepCA(importArgs...)
		if r.code != 0 || strings.TrimSpace(r.stdout) != want+"\n"+skipped || !strings.Contains(r.stderr, "importing from badger v2 "+moved) {
			t.Fatalf("step-ca %v: want exit 0 and %q:\n%s", importArgs, want, r)
		}
	}
	// A step-ca ca.json naming the directory works as a source too.
	stepConfig := filepath.Join(p.caPath, "config", "step-ca.json")
	if err := os.WriteFile(stepConfig, readFile(t, p.configPath()), 0o600); err != nil {
		t.Fatal(err)
	}
	setDB(t, stepConfig, map[string]any{"type": "badgerv2", "dataSource": moved, "badgerFileLoadingMode": ""})
	r = p.op.stepCA("db", "import", "--from-config", stepConfig, "--to", p.configPath())
	if want := "imported 0 certificates, 0 revocations, 0 used tokens, 0 ACME records, 0 SSH records (9 already present)"; r.code != 0 || !strings.HasPrefix(r.stdout, want+"\n") {
		t.Fatalf("step-ca db import --from-config %s: want %q:\n%s", stepConfig, want, r)
	}

	ca = p.start(t)
	var listed []listedCert
	r = u.ok(t, "ca", "certificates", "list", "--format", "json", "--provisioner-password-file", pw)
	if err := json.Unmarshal([]byte(r.stdout), &listed); err != nil {
		t.Fatalf("list: %v\n%s", err, r)
	}
	var got []string
	for _, c := range listed {
		got = append(got, c.Subject+"/"+c.Provisioner+"/"+map[bool]string{true: "revoked", false: "valid"}[c.Revoked])
	}
	slices.Sort(got)
	if want := []string{"bar.example.com/admin/revoked", "foo.example.com/admin/valid"}; !slices.Equal(got, want) {
		t.Fatalf("listed %v, want %v", got, want)
	}
	mark := ca.log.mark()
	u.fails(t, "ca", "renew", u.path("bar.example.com.crt"), u.path("bar.example.com.key"), "--force")
	ca.waitLog(t, mark, "revoked")
	u.ok(t, "ca", "renew", u.path("foo.example.com.crt"), u.path("foo.example.com.key"), "--force")
}

// testSSHCertWire returns the serial and wire bytes of a host certificate
// signed by a throwaway key, as step-ca stores it in ssh_certs.
func testSSHCertWire(t *testing.T) (string, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := gossh.NewSignerFromSigner(key)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	cert := &gossh.Certificate{Key: signer.PublicKey(), Serial: 8111222333444555666, CertType: gossh.HostCert, KeyId: "imported.example.com",
		ValidPrincipals: []string{"imported.example.com"}, ValidAfter: uint64(now.Unix()), ValidBefore: uint64(now.Add(time.Hour).Unix())}
	if err := cert.SignCert(rand.Reader, signer); err != nil {
		t.Fatal(err)
	}
	return "8111222333444555666", cert.Marshal()
}
