package e2e

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// password is what every test PKI is protected with; passwordFileText is
// how it sits in the password file (step trims trailing whitespace).
const (
	password         = "e2e-test-password"
	passwordFileText = password + "\n"
	caName           = "Test CA"
)

// testPKI is a CA created by `step ca init` in its own STEPPATH.
type testPKI struct {
	caPath string // the CA's STEPPATH
	pwFile string // password of the CA keys and of the provisioner
	addr   string // 127.0.0.1:port
	port   string
	url    string // https://localhost:port
	op     *user  // the operator, with STEPPATH=caPath
	root   *x509.Certificate
	fp     string // lower-case hex SHA-256 of the root DER
}

// initPKI runs the non-interactive `step ca init` of wire-spec §1.2 for a
// CA listening on a free loopback port.
func initPKI(t *testing.T) *testPKI {
	t.Helper()
	p, _ := initPKIWith(t)
	return p
}

// initPKIWith is initPKI with more `step ca init` flags (--ssh, --acme,
// --remote-management); it also returns what init printed.
func initPKIWith(t *testing.T, initFlags ...string) (*testPKI, result) {
	t.Helper()
	needBinaries(t)
	base := t.TempDir()
	p := &testPKI{caPath: filepath.Join(base, "ca")}
	p.addr, p.port = freeAddr(t)
	p.url = "https://localhost:" + p.port
	p.op = newUser(t, p.caPath)
	p.pwFile = p.op.writeFile(t, "password.txt", passwordFileText, 0o600)
	r := p.op.ok(t, append(p.initArgs(), initFlags...)...)
	p.root = readCerts(t, filepath.Join(p.caPath, "certs", "root_ca.crt"))[0]
	p.fp = fingerprint(p.root)
	return p, r
}

// initArgs is the `step ca init` command line for p.
func (p *testPKI) initArgs() []string {
	return []string{"ca", "init", "--name", caName, "--dns", "localhost", "--address", p.addr,
		"--provisioner", "admin", "--password-file", p.pwFile, "--provisioner-password-file", p.pwFile}
}

// configPath is the CA's ca.json.
func (p *testPKI) configPath() string { return filepath.Join(p.caPath, "config", "ca.json") }

// start starts step-ca on p and waits until it serves.
func (p *testPKI) start(t *testing.T) *caProcess {
	t.Helper()
	return startCA(t, p.caPath, p.pwFile)
}

// client returns a user with a fresh STEPPATH bootstrapped with
// `step ca bootstrap --ca-url --fingerprint`, and a password file.
func (p *testPKI) client(t *testing.T) *user {
	t.Helper()
	u := newUser(t, filepath.Join(t.TempDir(), "client"))
	u.writeFile(t, "password.txt", passwordFileText, 0o600)
	u.ok(t, "ca", "bootstrap", "--ca-url", p.url, "--fingerprint", p.fp)
	return u
}

// fingerprint is the lower-case hex SHA-256 of a certificate's DER.
func fingerprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return hex.EncodeToString(sum[:])
}

// readPEMBlocks returns every PEM block in path and fails on trailing junk.
func readPEMBlocks(t *testing.T, path string) []*pem.Block {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	var blocks []*pem.Block
	rest := data
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		blocks = append(blocks, b)
	}
	if len(blocks) == 0 || len(bytes.TrimSpace(rest)) != 0 {
		t.Fatalf("%s: want only PEM blocks, found %d blocks and %d bytes of other data", path, len(blocks), len(bytes.TrimSpace(rest)))
	}
	return blocks
}

// readCerts parses the PEM CERTIFICATE bundle in path.
func readCerts(t *testing.T, path string) []*x509.Certificate {
	t.Helper()
	var certs []*x509.Certificate
	for i, b := range readPEMBlocks(t, path) {
		if b.Type != "CERTIFICATE" {
			t.Fatalf("%s: block %d is %q, want CERTIFICATE", path, i, b.Type)
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			t.Fatalf("%s: block %d: %v", path, i, err)
		}
		certs = append(certs, c)
	}
	return certs
}

// readKey parses the unencrypted private key in path (EC, RSA or PKCS#8).
func readKey(t *testing.T, path string) crypto.Signer {
	t.Helper()
	blocks := readPEMBlocks(t, path)
	if len(blocks) != 1 {
		t.Fatalf("%s: %d PEM blocks, want 1", path, len(blocks))
	}
	b := blocks[0]
	var (
		k   any
		err error
	)
	switch b.Type {
	case "EC PRIVATE KEY":
		k, err = x509.ParseECPrivateKey(b.Bytes)
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(b.Bytes)
	case "PRIVATE KEY":
		k, err = x509.ParsePKCS8PrivateKey(b.Bytes)
	default:
		t.Fatalf("%s: PEM type %q is not an unencrypted private key", path, b.Type)
	}
	if err != nil {
		t.Fatalf("%s: parse %s: %v", path, b.Type, err)
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		t.Fatalf("%s: %T is not a signing key", path, k)
	}
	return s
}

// samePublicKey reports whether two public keys are equal.
func samePublicKey(a, b crypto.PublicKey) bool {
	e, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && e.Equal(b)
}

// checkMode fails unless path has exactly the permission bits want.
func checkMode(t *testing.T, path string, want fs.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("stat %s: %v", path, err)
	}
	if got := fi.Mode().Perm(); got != want {
		t.Fatalf("%s: mode %#o, want %#o", path, got, want)
	}
}

// readFile returns the bytes of path.
func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return b
}

// mustNotExist fails if path exists.
func mustNotExist(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Lstat(path); err == nil {
		t.Fatalf("%s exists, but nothing should have been written there", path)
	} else if !os.IsNotExist(err) {
		t.Fatalf("stat %s: %v", path, err)
	}
}

// fileState is what a snapshot records of one path.
type fileState struct {
	mode    fs.FileMode
	content string // files only
}

// snapshot records every path under root (mode and file contents), except
// the subtrees named in skip (relative to root).
func snapshot(t *testing.T, root string, skip ...string) map[string]fileState {
	t.Helper()
	out := map[string]fileState{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		for _, s := range skip {
			if rel == s {
				return filepath.SkipDir
			}
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		st := fileState{mode: fi.Mode()}
		if fi.Mode().IsRegular() {
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			st.content = string(b)
		}
		out[rel] = st
		return nil
	})
	if err != nil {
		t.Fatalf("snapshot %s: %v", root, err)
	}
	return out
}

// sameSnapshot fails if after differs from before, naming every difference.
func sameSnapshot(t *testing.T, what string, before, after map[string]fileState) {
	t.Helper()
	var diffs []string
	for p, b := range before {
		a, ok := after[p]
		switch {
		case !ok:
			diffs = append(diffs, p+" was removed")
		case a.mode != b.mode:
			diffs = append(diffs, p+": mode changed from "+b.mode.String()+" to "+a.mode.String())
		case a.content != b.content:
			diffs = append(diffs, p+": content changed")
		}
	}
	for p := range after {
		if _, ok := before[p]; !ok {
			diffs = append(diffs, p+" was created")
		}
	}
	if len(diffs) > 0 {
		t.Fatalf("%s changed files:\n  %s", what, strings.Join(diffs, "\n  "))
	}
}

// writeCSR writes a PEM CSR for cn (CN and DNS SAN) with a new P-256 key.
func writeCSR(t *testing.T, path, cn string) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("generate a key: %v", err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: cn}, DNSNames: []string{cn},
	}, key)
	if err != nil {
		t.Fatalf("create a CSR: %v", err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}), 0o644); err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
	return key
}
