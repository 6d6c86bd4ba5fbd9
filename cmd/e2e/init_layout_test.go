package e2e

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata from the current output")

// TestInitLayout checks what `step ca init` writes (wire-spec §1.2 to §1.6):
// the set of files and directories with their modes, ca.json and
// defaults.json byte for byte (after replacing what differs per run) against
// golden files, and the certificates, keys and provisioner key they hold.
func TestInitLayout(t *testing.T) {
	t.Parallel()
	p := initPKI(t)
	path := func(rel string) string { return filepath.Join(p.caPath, rel) }

	t.Run("files and modes", func(t *testing.T) {
		want := map[string]fs.FileMode{
			".":                           fs.ModeDir | 0o700,
			"config":                      fs.ModeDir | 0o700,
			"certs":                       fs.ModeDir | 0o700,
			"secrets":                     fs.ModeDir | 0o700,
			"db":                          fs.ModeDir | 0o700,
			"templates":                   fs.ModeDir | 0o700,
			"certs/root_ca.crt":           0o600,
			"certs/intermediate_ca.crt":   0o600,
			"secrets/root_ca_key":         0o600,
			"secrets/intermediate_ca_key": 0o600,
			"config/ca.json":              0o644,
			"config/defaults.json":        0o644,
		}
		got := snapshot(t, p.caPath)
		var problems []string
		for rel, mode := range want {
			st, ok := got[rel]
			switch {
			case !ok:
				problems = append(problems, rel+" is missing")
			case st.mode != mode:
				problems = append(problems, rel+" has mode "+st.mode.String()+", want "+mode.String())
			}
		}
		for rel := range got {
			if _, ok := want[rel]; !ok {
				problems = append(problems, rel+" should not exist")
			}
		}
		sort.Strings(problems)
		if len(problems) > 0 {
			t.Fatalf("step ca init wrote the wrong layout in %s:\n  %s", p.caPath, strings.Join(problems, "\n  "))
		}
	})

	t.Run("ca.json", func(t *testing.T) {
		raw := readFile(t, path("config/ca.json"))
		if bytes.HasSuffix(raw, []byte("\n")) {
			t.Fatalf("ca.json ends with a newline; step ca init writes none")
		}
		checkTabIndented(t, "ca.json", raw)
		compareGolden(t, "ca.json.golden", normalizeInitOutput(t, p, raw))
	})

	t.Run("defaults.json", func(t *testing.T) {
		raw := readFile(t, path("config/defaults.json"))
		checkTabIndented(t, "defaults.json", raw)
		compareGolden(t, "defaults.json.golden", normalizeInitOutput(t, p, raw))
		var d map[string]string
		if err := json.Unmarshal(raw, &d); err != nil {
			t.Fatalf("defaults.json: %v", err)
		}
		want := map[string]string{
			"ca-url": p.url, "ca-config": path("config/ca.json"), "fingerprint": p.fp, "root": path("certs/root_ca.crt"),
		}
		for k, v := range want {
			if d[k] != v {
				t.Fatalf("defaults.json %q = %q, want %q", k, d[k], v)
			}
		}
	})

	t.Run("root and intermediate", func(t *testing.T) {
		root := p.root
		inters := readCerts(t, path("certs/intermediate_ca.crt"))
		if len(readCerts(t, path("certs/root_ca.crt"))) != 1 || len(inters) != 1 {
			t.Fatalf("root_ca.crt and intermediate_ca.crt must hold one certificate each")
		}
		inter := inters[0]
		checkCACert(t, "root", root, "Test CA Root CA", 1)
		checkCACert(t, "intermediate", inter, "Test CA Intermediate CA", 0)
		if err := root.CheckSignatureFrom(root); err != nil || !bytes.Equal(root.RawIssuer, root.RawSubject) {
			t.Fatalf("the root is not self-signed: %v", err)
		}
		if err := inter.CheckSignatureFrom(root); err != nil {
			t.Fatalf("the intermediate is not signed by the root: %v", err)
		}
		if !bytes.Equal(inter.AuthorityKeyId, root.SubjectKeyId) {
			t.Fatalf("intermediate AKI %x, want the root SKI %x", inter.AuthorityKeyId, root.SubjectKeyId)
		}
		for _, k := range []struct {
			file string
			cert *x509.Certificate
		}{{"secrets/root_ca_key", root}, {"secrets/intermediate_ca_key", inter}} {
			checkLegacyEncryptedKey(t, path(k.file), k.cert)
		}
	})

	t.Run("provisioner key", func(t *testing.T) {
		var cfg struct {
			Authority struct {
				Provisioners []struct {
					Type         string          `json:"type"`
					Name         string          `json:"name"`
					Key          jose.JSONWebKey `json:"key"`
					EncryptedKey string          `json:"encryptedKey"`
				} `json:"provisioners"`
			} `json:"authority"`
		}
		if err := json.Unmarshal(readFile(t, path("config/ca.json")), &cfg); err != nil {
			t.Fatalf("ca.json: %v", err)
		}
		if n := len(cfg.Authority.Provisioners); n != 1 {
			t.Fatalf("ca.json has %d provisioners, want 1", n)
		}
		prov := cfg.Authority.Provisioners[0]
		tp, err := prov.Key.Thumbprint(crypto.SHA256)
		if err != nil {
			t.Fatalf("thumbprint of the provisioner key: %v", err)
		}
		if want := base64.RawURLEncoding.EncodeToString(tp); prov.Key.KeyID != want {
			t.Fatalf("provisioner kid %q, want the RFC 7638 thumbprint %q", prov.Key.KeyID, want)
		}
		checkEncryptedKey(t, prov.EncryptedKey, prov.Key)
	})
}

// checkCACert checks the fields step ca init sets on a CA certificate.
func checkCACert(t *testing.T, what string, c *x509.Certificate, cn string, maxPathLen int) {
	t.Helper()
	if c.Subject.CommonName != cn || !slices.Equal(c.Subject.Organization, []string{caName}) {
		t.Fatalf("%s subject %q, want O=%s, CN=%s", what, c.Subject, caName, cn)
	}
	if !c.IsCA || !c.BasicConstraintsValid || c.MaxPathLen != maxPathLen || (maxPathLen == 0 && !c.MaxPathLenZero) {
		t.Fatalf("%s basic constraints: CA %v, pathlen %d, want CA with pathlen %d", what, c.IsCA, c.MaxPathLen, maxPathLen)
	}
	if c.KeyUsage != x509.KeyUsageCertSign|x509.KeyUsageCRLSign {
		t.Fatalf("%s key usage %v, want certSign|crlSign", what, c.KeyUsage)
	}
	if len(c.SubjectKeyId) == 0 {
		t.Fatalf("%s has no subject key ID", what)
	}
	if c.SignatureAlgorithm != x509.ECDSAWithSHA256 {
		t.Fatalf("%s signature algorithm %v, want ECDSA-SHA256", what, c.SignatureAlgorithm)
	}
	if life := c.NotAfter.Sub(c.NotBefore); life < 3649*24*time.Hour || life > 3651*24*time.Hour {
		t.Fatalf("%s validity %s, want 10 years (3650 days)", what, life)
	}
}

// checkLegacyEncryptedKey checks that path is an EC PRIVATE KEY with OpenSSL
// legacy AES-256-CBC encryption under the test password, holding cert's key.
func checkLegacyEncryptedKey(t *testing.T, path string, cert *x509.Certificate) {
	t.Helper()
	blocks := readPEMBlocks(t, path)
	if len(blocks) != 1 || blocks[0].Type != "EC PRIVATE KEY" {
		t.Fatalf("%s: want one EC PRIVATE KEY block", path)
	}
	b := blocks[0]
	if b.Headers["Proc-Type"] != "4,ENCRYPTED" || !strings.HasPrefix(b.Headers["DEK-Info"], "AES-256-CBC,") {
		t.Fatalf("%s: headers %v, want Proc-Type 4,ENCRYPTED and DEK-Info AES-256-CBC", path, b.Headers)
	}
	//lint:ignore SA1019 legacy PEM encryption is the format under test (wire-spec §1.5).
	der, err := x509.DecryptPEMBlock(b, []byte(password))
	if err != nil {
		t.Fatalf("%s: decrypt with the init password: %v", path, err)
	}
	k, err := x509.ParseECPrivateKey(der)
	if err != nil {
		t.Fatalf("%s: parse the decrypted key: %v", path, err)
	}
	if !samePublicKey(k.Public(), cert.PublicKey) {
		t.Fatalf("%s does not hold the key of %q", path, cert.Subject)
	}
}

// checkEncryptedKey checks the provisioner's encryptedKey (wire-spec §1.6):
// a PBES2-HS256+A128KW / A256GCM JWE with 600000 iterations whose plaintext
// is the private JWK of pub.
func checkEncryptedKey(t *testing.T, encrypted string, pub jose.JSONWebKey) {
	t.Helper()
	jwe, err := jose.ParseEncrypted(encrypted, []jose.KeyAlgorithm{jose.PBES2_HS256_A128KW}, []jose.ContentEncryption{jose.A256GCM})
	if err != nil {
		t.Fatalf("encryptedKey is not a PBES2-HS256+A128KW/A256GCM JWE: %v", err)
	}
	h := jwe.Header
	if h.ExtraHeaders["cty"] != "jwk+json" || h.ExtraHeaders["p2c"] != float64(600000) {
		t.Fatalf("encryptedKey header %v, want cty jwk+json and p2c 600000", h.ExtraHeaders)
	}
	plain, err := jwe.Decrypt([]byte(password))
	if err != nil {
		t.Fatalf("decrypt encryptedKey with the provisioner password: %v", err)
	}
	var priv jose.JSONWebKey
	if err := json.Unmarshal(plain, &priv); err != nil {
		t.Fatalf("encryptedKey plaintext is not a JWK: %v", err)
	}
	if priv.IsPublic() || priv.KeyID != pub.KeyID || !samePublicKey(priv.Public().Key, pub.Key) {
		t.Fatalf("encryptedKey holds kid %q (public only: %v), want the private key of kid %q", priv.KeyID, priv.IsPublic(), pub.KeyID)
	}
}

// checkTabIndented fails unless every line of data is indented with tabs only.
func checkTabIndented(t *testing.T, name string, data []byte) {
	t.Helper()
	for i, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(strings.TrimLeft(l, "\t"), " ") {
			t.Fatalf("%s line %d is indented with spaces, want tabs: %q", name, i+1, l)
		}
	}
}

// perRun matches the JSON string values that differ on every init.
var perRun = regexp.MustCompile(`"(kid|x|y|encryptedKey|fingerprint)": "[^"]*"`)

// normalizeInitOutput replaces what differs per run (paths, port, keys,
// fingerprint) with placeholders, keeping everything else byte for byte.
func normalizeInitOutput(t *testing.T, p *testPKI, data []byte) []byte {
	t.Helper()
	s := strings.ReplaceAll(string(data), p.caPath, "$STEPPATH")
	s = strings.ReplaceAll(s, ":"+p.port+`"`, `:$PORT"`)
	s = perRun.ReplaceAllString(s, `"$1": "<$1>"`)
	return []byte(s)
}

// compareGolden compares got with testdata/name, or rewrites it with -update.
func compareGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatalf("update %s: %v", path, err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read the golden file (run with -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs from the golden file %s (placeholders stand for per-run values):\n--- got ---\n%s\n--- want ---\n%s", name, path, got, want)
	}
}
