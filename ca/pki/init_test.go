package pki

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/mayfly-pki/mayfly/authority/config"
	mjose "github.com/mayfly-pki/mayfly/internal/jose"
	"github.com/mayfly-pki/mayfly/internal/keyutil"
	"github.com/mayfly-pki/mayfly/internal/pemutil"
)

var (
	oidKeyUsage         = asn1.ObjectIdentifier{2, 5, 29, 15}
	oidBasicConstraints = asn1.ObjectIdentifier{2, 5, 29, 19}
	oidSubjectKeyID     = asn1.ObjectIdentifier{2, 5, 29, 14}
	oidAuthorityKeyID   = asn1.ObjectIdentifier{2, 5, 29, 35}
)

// fixedNow is the injected clock of these tests (with sub-second noise, which
// the certificates must drop).
var fixedNow = time.Date(2026, 3, 4, 5, 6, 7, 890, time.UTC)

func baseOptions() Options {
	return Options{
		Name:                "Test CA",
		DNSNames:            []string{"localhost", "ca.internal"},
		Address:             "127.0.0.1:19443",
		ProvisionerName:     "admin",
		Password:            []byte("ca-pass"),
		ProvisionerPassword: []byte("prov-pass"),
		Clock:               func() time.Time { return fixedNow },
	}
}

func mode(t *testing.T, path string) fs.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("stat: %v", err)
	}
	return fi.Mode()
}

func readCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, rest := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" || len(bytes.TrimSpace(rest)) != 0 {
		t.Fatalf("%s: want exactly one PEM CERTIFICATE", path)
	}
	crt, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return crt
}

func extension(c *x509.Certificate, oid asn1.ObjectIdentifier) (critical, found bool) {
	for _, e := range c.Extensions {
		if e.Id.Equal(oid) {
			return e.Critical, true
		}
	}
	return false, false
}

// checkCAProfile checks the fields shared by step's root and intermediate profiles.
func checkCAProfile(t *testing.T, c *x509.Certificate, cn string, pathLen int) {
	t.Helper()
	if got := c.Subject.CommonName; got != cn {
		t.Fatalf("CN = %q, want %q", got, cn)
	}
	if o := c.Subject.Organization; len(o) != 1 || o[0] != "Test CA" {
		t.Fatalf("O = %v, want [Test CA]", o)
	}
	if !c.NotBefore.Equal(fixedNow.Truncate(time.Second)) {
		t.Fatalf("NotBefore = %v, want %v", c.NotBefore, fixedNow.Truncate(time.Second))
	}
	if want := c.NotBefore.AddDate(0, 0, 3650); !c.NotAfter.Equal(want) {
		t.Fatalf("NotAfter = %v, want %v (3650 days)", c.NotAfter, want)
	}
	if c.SerialNumber.Sign() <= 0 || c.SerialNumber.BitLen() > 128 {
		t.Fatalf("serial %v: want a positive number of at most 128 bits", c.SerialNumber)
	}
	if c.KeyUsage != x509.KeyUsageCertSign|x509.KeyUsageCRLSign {
		t.Fatalf("KeyUsage = %v, want certSign|crlSign", c.KeyUsage)
	}
	if crit, ok := extension(c, oidKeyUsage); !ok || !crit {
		t.Fatalf("KeyUsage extension: found %v critical %v, want critical", ok, crit)
	}
	if crit, ok := extension(c, oidBasicConstraints); !ok || !crit {
		t.Fatalf("BasicConstraints extension: found %v critical %v, want critical", ok, crit)
	}
	if !c.BasicConstraintsValid || !c.IsCA || c.MaxPathLen != pathLen || c.MaxPathLenZero != (pathLen == 0) {
		t.Fatalf("BasicConstraints = valid %v CA %v pathlen %d (zero %v), want CA pathlen %d",
			c.BasicConstraintsValid, c.IsCA, c.MaxPathLen, c.MaxPathLenZero, pathLen)
	}
	ski, err := subjectKeyID(c.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := extension(c, oidSubjectKeyID); !ok || !bytes.Equal(c.SubjectKeyId, ski) {
		t.Fatalf("SubjectKeyId = %x, want SHA-1 of the key bits %x", c.SubjectKeyId, ski)
	}
	if c.SignatureAlgorithm != x509.ECDSAWithSHA256 {
		t.Fatalf("signature algorithm %v, want ECDSA-SHA256", c.SignatureAlgorithm)
	}
	if got := keyutil.PublicKeyDescription(c.PublicKey); got != "ECDSA P-256" {
		t.Fatalf("key %s, want ECDSA P-256", got)
	}
}

// checkKey checks a CA key file: legacy-encrypted EC PRIVATE KEY that opens
// with password (and only with it) and matches crt.
func checkKey(t *testing.T, path string, password []byte, crt *x509.Certificate) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "EC PRIVATE KEY" {
		t.Fatalf("%s: want PEM EC PRIVATE KEY", path)
	}
	if block.Headers["Proc-Type"] != "4,ENCRYPTED" {
		t.Fatalf("%s: Proc-Type = %q", path, block.Headers["Proc-Type"])
	}
	if !regexp.MustCompile(`^AES-256-CBC,[0-9A-F]{32}$`).MatchString(block.Headers["DEK-Info"]) {
		t.Fatalf("%s: DEK-Info = %q", path, block.Headers["DEK-Info"])
	}
	key, err := pemutil.ParsePrivateKey(data, password)
	if err != nil {
		t.Fatalf("%s: decrypt: %v", path, err)
	}
	if !keyutil.Equal(key.Public(), crt.PublicKey) {
		t.Fatalf("%s does not match its certificate", path)
	}
	if _, err := pemutil.ParsePrivateKey(data, []byte("wrong")); !errors.Is(err, pemutil.ErrBadPassword) {
		t.Fatalf("%s with a wrong password: %v, want ErrBadPassword", path, err)
	}
}

func TestInit(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "step")
	o := baseOptions()
	var progress bytes.Buffer
	o.Progress = &progress
	res, err := Init(context.Background(), dir, o)
	if err != nil {
		t.Fatalf("Init: %v", err)
	}
	l := NewLayout(dir)

	// Layout and modes (wire-spec §1.2).
	for _, d := range []string{dir, l.ConfigDir, l.CertsDir, l.SecretsDir, l.DBDir, l.TemplatesDir} {
		if m := mode(t, d); !m.IsDir() || m.Perm() != 0o700 {
			t.Fatalf("%s: mode %v, want dir 0700", d, m)
		}
	}
	for path, want := range map[string]fs.FileMode{
		l.RootCert: 0o600, l.RootKey: 0o600, l.IntermediateCert: 0o600, l.IntermediateKey: 0o600,
		l.CAConfig: 0o644, l.Defaults: 0o644,
	} {
		if m := mode(t, path); !m.IsRegular() || m.Perm() != want {
			t.Fatalf("%s: mode %v, want %v", path, m, want)
		}
	}
	for _, d := range []string{l.DBDir, l.TemplatesDir} {
		if entries, _ := os.ReadDir(d); len(entries) != 0 {
			t.Fatalf("%s: want empty, got %d entries", d, len(entries))
		}
	}
	// No probe or temp files left behind.
	for _, d := range []string{dir, l.ConfigDir, l.CertsDir, l.SecretsDir} {
		entries, _ := os.ReadDir(d)
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), ".") {
				t.Fatalf("leftover file %s in %s", e.Name(), d)
			}
		}
	}
	if want := "Generating root certificate... done!\nGenerating intermediate certificate... done!\n"; progress.String() != want {
		t.Fatalf("progress = %q, want %q", progress.String(), want)
	}

	// Certificates (wire-spec §1.5).
	root := readCert(t, l.RootCert)
	checkCAProfile(t, root, "Test CA Root CA", 1)
	if root.Subject.String() != root.Issuer.String() {
		t.Fatalf("root issuer %q != subject %q", root.Issuer, root.Subject)
	}
	if _, ok := extension(root, oidAuthorityKeyID); ok {
		t.Fatal("root has an AuthorityKeyId, want none")
	}
	if err := root.CheckSignatureFrom(root); err != nil {
		t.Fatalf("root self-signature: %v", err)
	}
	inter := readCert(t, l.IntermediateCert)
	checkCAProfile(t, inter, "Test CA Intermediate CA", 0)
	if inter.Issuer.String() != root.Subject.String() {
		t.Fatalf("intermediate issuer %q, want %q", inter.Issuer, root.Subject)
	}
	if _, ok := extension(inter, oidAuthorityKeyID); !ok || !bytes.Equal(inter.AuthorityKeyId, root.SubjectKeyId) {
		t.Fatalf("intermediate AKI %x, want root SKI %x", inter.AuthorityKeyId, root.SubjectKeyId)
	}
	if inter.SerialNumber.Cmp(root.SerialNumber) == 0 {
		t.Fatal("root and intermediate share a serial number")
	}
	pool := x509.NewCertPool()
	pool.AddCert(root)
	if _, err := inter.Verify(x509.VerifyOptions{Roots: pool, CurrentTime: fixedNow.Add(time.Hour), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		t.Fatalf("intermediate does not chain to the root: %v", err)
	}
	checkKey(t, l.RootKey, o.Password, root)
	checkKey(t, l.IntermediateKey, o.Password, inter)

	// Result.
	wantRes := Result{
		StepPath: dir, RootCertPath: l.RootCert, RootKeyPath: l.RootKey, RootFingerprint: pemutil.Fingerprint(root),
		IntermediateCertPath: l.IntermediateCert, IntermediateKeyPath: l.IntermediateKey, DBPath: l.DBDir,
		DefaultsPath: l.Defaults, CAConfigPath: l.CAConfig, CAURL: "https://localhost:19443", ProvisionerName: "admin",
	}
	got := *res
	got.Root, got.Intermediate, got.ProvisionerKID = nil, nil, ""
	if !json.Valid(got.Provisioner) {
		t.Fatalf("Result.Provisioner = %q, want the provisioner's JSON", got.Provisioner)
	}
	got.Provisioner = nil
	if !reflect.DeepEqual(got, wantRes) {
		t.Fatalf("Result = %+v\nwant %+v", got, wantRes)
	}
	if !res.Root.Equal(root) || !res.Intermediate.Equal(inter) {
		t.Fatal("Result certificates differ from the files")
	}

	// ca.json: loads with authority/config, and is byte-for-byte step's layout.
	cfg, err := config.Load(l.CAConfig)
	if err != nil {
		t.Fatalf("config.Load: %v", err)
	}
	if len(cfg.UnknownKeys) != 0 {
		t.Fatalf("unknown keys in ca.json: %v", cfg.UnknownKeys)
	}
	if len(cfg.Authority.Provisioners) != 1 {
		t.Fatalf("%d provisioners, want 1", len(cfg.Authority.Provisioners))
	}
	var prov struct {
		Key          jose.JSONWebKey `json:"key"`
		EncryptedKey string          `json:"encryptedKey"`
	}
	if err := json.Unmarshal(cfg.Authority.Provisioners[0], &prov); err != nil {
		t.Fatal(err)
	}
	var xy struct{ X, Y string }
	pubJSON, _ := json.Marshal(prov.Key)
	_ = json.Unmarshal(pubJSON, &xy)
	repl := strings.NewReplacer("@STEPPATH@", dir, "@KID@", prov.Key.KeyID, "@X@", xy.X, "@Y@", xy.Y,
		"@ENCRYPTED_KEY@", prov.EncryptedKey, "@FINGERPRINT@", res.RootFingerprint)
	for file, golden := range map[string]string{l.CAConfig: "ca.json.golden", l.Defaults: "defaults.json.golden"} {
		want, err := os.ReadFile(filepath.Join("testdata", golden))
		if err != nil {
			t.Fatal(err)
		}
		gotBytes, _ := os.ReadFile(file)
		if string(gotBytes) != repl.Replace(string(want)) {
			t.Fatalf("%s:\n%s\nwant:\n%s", file, gotBytes, repl.Replace(string(want)))
		}
	}
	if res.ProvisionerKID != prov.Key.KeyID {
		t.Fatalf("Result.ProvisionerKID %q, want %q", res.ProvisionerKID, prov.Key.KeyID)
	}

	// encryptedKey (wire-spec §1.6): header, then decrypt with the provisioner password.
	parts := strings.Split(prov.EncryptedKey, ".")
	if len(parts) != 5 {
		t.Fatalf("encryptedKey has %d parts, want 5", len(parts))
	}
	hdrJSON, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		t.Fatal(err)
	}
	var hdr map[string]any
	_ = json.Unmarshal(hdrJSON, &hdr)
	if hdr["alg"] != "PBES2-HS256+A128KW" || hdr["enc"] != "A256GCM" || hdr["cty"] != "jwk+json" || hdr["p2c"] != float64(600000) {
		t.Fatalf("JWE header %s", hdrJSON)
	}
	priv, err := mjose.DecryptJWK(prov.EncryptedKey, o.ProvisionerPassword)
	if err != nil {
		t.Fatalf("decrypting encryptedKey with the provisioner password: %v", err)
	}
	thumb, err := mjose.Thumbprint(priv)
	if err != nil {
		t.Fatal(err)
	}
	if prov.Key.KeyID != thumb || priv.KeyID != thumb {
		t.Fatalf("kid %q / private kid %q, want thumbprint %q", prov.Key.KeyID, priv.KeyID, thumb)
	}
	if priv.Use != "sig" || priv.Algorithm != "ES256" || prov.Key.Use != "sig" || prov.Key.Algorithm != "ES256" {
		t.Fatalf("use/alg: private %s/%s public %s/%s", priv.Use, priv.Algorithm, prov.Key.Use, prov.Key.Algorithm)
	}
	if !keyutil.Equal(priv.Public().Key, prov.Key.Key) {
		t.Fatal("encryptedKey does not hold the private half of key")
	}
	if !prov.Key.IsPublic() {
		t.Fatal("ca.json key holds private material")
	}
}

// TestInitNoDBWithCAURL is the --no-db --with-ca-url variant with the
// provisioner key encrypted with the CA password.
func TestInitNoDBWithCAURL(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	o := baseOptions()
	o.NoDB, o.WithCAURL, o.ProvisionerPassword = true, "https://ca.example.com", nil
	o.Kty, o.Curve = "EC", "P-384"
	res, err := Init(context.Background(), dir, o)
	if err != nil {
		t.Fatalf("Init: %v", err)
	}
	l := NewLayout(dir)
	if _, err := os.Stat(l.DBDir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("db/ with NoDB: %v", err)
	}
	if res.DBPath != "" || res.CAURL != "https://ca.example.com" {
		t.Fatalf("Result DBPath %q CAURL %q", res.DBPath, res.CAURL)
	}
	raw, _ := os.ReadFile(l.CAConfig)
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	if _, ok := m["db"]; ok {
		t.Fatal("ca.json has a db block with NoDB")
	}
	d, err := config.LoadDefaults(l.Defaults)
	if err != nil {
		t.Fatal(err)
	}
	if d.CAURL != "https://ca.example.com" {
		t.Fatalf("defaults ca-url %q", d.CAURL)
	}
	if got := keyutil.PublicKeyDescription(res.Root.PublicKey); got != "ECDSA P-384" {
		t.Fatalf("root key %s, want ECDSA P-384 (--curve)", got)
	}
	if res.Intermediate.SignatureAlgorithm != x509.ECDSAWithSHA384 {
		t.Fatalf("intermediate signed with %v, want ECDSA-SHA384", res.Intermediate.SignatureAlgorithm)
	}
	cfg, err := config.Load(l.CAConfig)
	if err != nil {
		t.Fatalf("config.Load: %v", err)
	}
	var prov struct {
		EncryptedKey string `json:"encryptedKey"`
	}
	_ = json.Unmarshal(cfg.Authority.Provisioners[0], &prov)
	if prov.EncryptedKey == "" {
		t.Fatal("no encryptedKey")
	}
	// Decrypting with o.Password would take another PBKDF2 round: the header
	// check is enough here, TestInit covers decryption.
}

func TestInitPKIOnly(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	o := Options{Name: "Test CA", Password: []byte("ca-pass"), PKIOnly: true, Clock: func() time.Time { return fixedNow }}
	res, err := Init(context.Background(), dir, o)
	if err != nil {
		t.Fatalf("Init: %v", err)
	}
	l := NewLayout(dir)
	for _, p := range []string{l.ConfigDir, l.DBDir, l.TemplatesDir} {
		if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("%s exists with PKIOnly", p)
		}
	}
	root := readCert(t, l.RootCert)
	checkCAProfile(t, root, "Test CA Root CA", 1)
	checkKey(t, l.RootKey, o.Password, root)
	if res.CAConfigPath != "" || res.DefaultsPath != "" || res.DBPath != "" || res.ProvisionerKID != "" {
		t.Fatalf("PKIOnly Result has configuration fields: %+v", res)
	}
}
