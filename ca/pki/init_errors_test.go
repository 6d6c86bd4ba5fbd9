package pki

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mayfly-pki/mayfly/internal/keyutil"
	"github.com/mayfly-pki/mayfly/internal/pemutil"
)

func pkiOnly() Options {
	return Options{Name: "Test CA", Password: []byte("ca-pass"), PKIOnly: true, Clock: func() time.Time { return fixedNow }}
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// existingRoot writes a root certificate and its key (encrypted with
// password) made with tmpl's changes, and returns their paths.
func existingRoot(t *testing.T, dir string, password []byte, edit func(*x509.Certificate)) (string, string, *x509.Certificate) {
	t.Helper()
	key, err := keyutil.Generate("EC", "P-256", 0)
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := caTemplate(key.Public(), CertOptions{Name: "Offline", NotBefore: fixedNow.Add(-time.Hour)}, "Offline Root", 2)
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(tmpl)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	crt, _ := x509.ParseCertificate(der)
	block, err := pemutil.MarshalPrivateKey(key, password)
	if err != nil {
		t.Fatal(err)
	}
	certPath, keyPath := filepath.Join(dir, "offline.crt"), filepath.Join(dir, "offline.key")
	writeFile(t, certPath, pemutil.EncodeCertificate(crt))
	writeFile(t, keyPath, pem.EncodeToMemory(block))
	return certPath, keyPath, crt
}

func TestInitExistingRoot(t *testing.T) {
	t.Parallel()
	src := t.TempDir()
	certPath, keyPath, crt := existingRoot(t, src, []byte("root-pass"), nil)
	dir := filepath.Join(t.TempDir(), "step")
	o := pkiOnly()
	o.RootCertPath, o.RootKeyPath, o.RootKeyPassword = certPath, keyPath, []byte("root-pass")
	var progress strings.Builder
	o.Progress = &progress
	res, err := Init(context.Background(), dir, o)
	if err != nil {
		t.Fatalf("Init: %v", err)
	}
	l := NewLayout(dir)
	copied, _ := os.ReadFile(l.RootCert)
	orig, _ := os.ReadFile(certPath)
	if string(copied) != string(orig) {
		t.Fatal("certs/root_ca.crt is not a copy of the existing root")
	}
	if _, err := os.Stat(l.RootKey); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("the existing root key was copied into secrets/")
	}
	if !res.ExistingRoot || res.RootKeyPath != "" || res.RootFingerprint != pemutil.Fingerprint(crt) {
		t.Fatalf("Result: ExistingRoot %v RootKeyPath %q fingerprint %q", res.ExistingRoot, res.RootKeyPath, res.RootFingerprint)
	}
	inter := readCert(t, l.IntermediateCert)
	if err := inter.CheckSignatureFrom(crt); err != nil {
		t.Fatalf("intermediate not signed by the existing root: %v", err)
	}
	if string(inter.AuthorityKeyId) != string(crt.SubjectKeyId) {
		t.Fatal("intermediate AKI is not the existing root's SKI")
	}
	checkKey(t, l.IntermediateKey, o.Password, inter)
	if want := "Copying root certificate... done!\nGenerating intermediate certificate... done!\n"; progress.String() != want {
		t.Fatalf("progress %q, want %q", progress.String(), want)
	}
}

func TestInitExistingRootErrors(t *testing.T) {
	t.Parallel()
	src := t.TempDir()
	goodCert, goodKey, _ := existingRoot(t, src, []byte("root-pass"), nil)
	otherDir := t.TempDir()
	_, otherKey, _ := existingRoot(t, otherDir, []byte("root-pass"), nil)
	leafDir := t.TempDir()
	leafCert, leafKey, _ := existingRoot(t, leafDir, []byte("root-pass"), func(c *x509.Certificate) {
		c.IsCA, c.MaxPathLen, c.KeyUsage = false, -1, x509.KeyUsageDigitalSignature
	})
	zeroDir := t.TempDir()
	zeroCert, zeroKey, _ := existingRoot(t, zeroDir, []byte("root-pass"), func(c *x509.Certificate) {
		c.MaxPathLen, c.MaxPathLenZero = 0, true
	})
	tests := []struct {
		name, cert, key string
		password        []byte
		want            string
		is              error
	}{
		{"wrong password", goodCert, goodKey, []byte("nope"), goodKey, pemutil.ErrBadPassword},
		{"no password", goodCert, goodKey, nil, goodKey, pemutil.ErrPasswordRequired},
		{"key of another root", goodCert, otherKey, []byte("root-pass"), "does not match", nil},
		{"not a CA", leafCert, leafKey, []byte("root-pass"), "not a CA", nil},
		{"pathlen 0", zeroCert, zeroKey, []byte("root-pass"), "path length 0", nil},
		{"missing key", goodCert, filepath.Join(src, "nope.key"), nil, "does not exist", nil},
		{"missing cert", filepath.Join(src, "nope.crt"), goodKey, nil, "nope.crt", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			o := pkiOnly()
			o.RootCertPath, o.RootKeyPath, o.RootKeyPassword = tt.cert, tt.key, tt.password
			_, err := Init(context.Background(), dir, o)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.want)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Fatalf("err = %v, want errors.Is %v", err, tt.is)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Fatalf("%d entries written despite the error", len(entries))
			}
		})
	}
}

func TestInitRefusesOverwrite(t *testing.T) {
	t.Parallel()
	for _, rel := range []string{"config/ca.json", "config/defaults.json", "secrets/intermediate_ca_key", "certs/root_ca.crt"} {
		t.Run(rel, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			existing := filepath.Join(dir, rel)
			writeFile(t, existing, []byte("keep me"))
			_, err := Init(context.Background(), dir, baseOptions())
			if !errors.Is(err, ErrExists) {
				t.Fatalf("err = %v, want ErrExists", err)
			}
			if want := existing + " already exists: use --force to overwrite"; err.Error() != want {
				t.Fatalf("err = %q, want %q", err, want)
			}
			if b, _ := os.ReadFile(existing); string(b) != "keep me" {
				t.Fatal("existing file changed")
			}
			// Nothing else was created: only the directory of the existing file.
			entries, _ := os.ReadDir(dir)
			if len(entries) != 1 || entries[0].Name() != strings.Split(rel, "/")[0] {
				t.Fatalf("step path holds %v, want only %s", entries, strings.Split(rel, "/")[0])
			}
		})
	}
}

func TestInitForceOverwrites(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	l := NewLayout(dir)
	writeFile(t, l.IntermediateKey, []byte("old"))
	o := pkiOnly()
	o.Force = true
	res, err := Init(context.Background(), dir, o)
	if err != nil {
		t.Fatalf("Init with Force: %v", err)
	}
	checkKey(t, l.IntermediateKey, o.Password, res.Intermediate)
}

func TestInitPathIsDirectory(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	l := NewLayout(dir)
	if err := os.MkdirAll(l.RootCert, 0o700); err != nil {
		t.Fatal(err)
	}
	o := pkiOnly()
	o.Force = true
	_, err := Init(context.Background(), dir, o)
	if err == nil || !strings.Contains(err.Error(), l.RootCert+" is a directory") {
		t.Fatalf("err = %v, want %s is a directory", err, l.RootCert)
	}
}

func TestInitUnwritable(t *testing.T) {
	t.Parallel()
	var parent string
	if os.Geteuid() != 0 {
		parent = t.TempDir()
		if err := os.Chmod(parent, 0o500); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.Chmod(parent, 0o700) })
	} else {
		// root ignores permission bits; /sys refuses new files even to root.
		if f, err := os.CreateTemp("/sys", "probe"); err == nil {
			_ = f.Close()
			_ = os.Remove(f.Name())
			t.Skip("running as root without an unwritable directory to test with")
		}
		parent = "/sys"
	}
	dir := filepath.Join(parent, "mayfly-step")
	_, err := Init(context.Background(), dir, pkiOnly())
	if err == nil || err.Error() != parent+" is not writable: permission denied" {
		t.Fatalf("err = %v, want %q", err, parent+" is not writable: permission denied")
	}
	if !errors.Is(err, fs.ErrPermission) {
		t.Fatalf("err = %v, want errors.Is fs.ErrPermission", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("%s was created", dir)
	}
}

// failingTxn returns a txn whose write of the file named fail fails.
func failingTxn(fail string) *txn {
	tx := newTxn()
	orig := tx.writeFile
	tx.writeFile = func(path string, data []byte, perm fs.FileMode) error {
		if filepath.Base(path) == fail {
			return errors.New("injected failure writing " + path)
		}
		return orig(path, data, perm)
	}
	return tx
}

func TestInitRollbackFresh(t *testing.T) {
	t.Parallel()
	parent := t.TempDir()
	dir := filepath.Join(parent, "a", "step")
	_, err := runInit(context.Background(), dir, pkiOnly(), failingTxn("intermediate_ca_key"))
	if err == nil || !strings.Contains(err.Error(), "injected failure") {
		t.Fatalf("err = %v, want the injected failure", err)
	}
	if entries, _ := os.ReadDir(parent); len(entries) != 0 {
		t.Fatalf("rollback left %v in %s", entries, parent)
	}
}

func TestInitRollbackRestoresOverwritten(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	l := NewLayout(dir)
	writeFile(t, l.RootCert, []byte("old root"))
	if err := os.Chmod(l.RootCert, 0o640); err != nil {
		t.Fatal(err)
	}
	o := pkiOnly()
	o.Force = true
	_, err := runInit(context.Background(), dir, o, failingTxn("intermediate_ca_key"))
	if err == nil {
		t.Fatal("want the injected failure")
	}
	if b, _ := os.ReadFile(l.RootCert); string(b) != "old root" {
		t.Fatalf("root_ca.crt = %q after rollback, want the old content", b)
	}
	if m := mode(t, l.RootCert); m.Perm() != 0o640 {
		t.Fatalf("root_ca.crt mode %v after rollback, want 0640", m)
	}
	for _, p := range []string{l.RootKey, l.IntermediateCert, l.IntermediateKey, l.SecretsDir} {
		if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("%s survived the rollback", p)
		}
	}
	if _, err := os.Stat(l.CertsDir); err != nil {
		t.Fatalf("pre-existing certs/ removed: %v", err)
	}
}

func TestInitCancelled(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Init(ctx, dir, pkiOnly()); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("cancelled Init wrote %v", entries)
	}
}

func TestOptionsValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		edit func(*Options)
		want string
	}{
		{"ok", func(*Options) {}, ""},
		{"standalone", func(o *Options) { o.DeploymentType = "Standalone" }, ""},
		{"linked", func(o *Options) { o.DeploymentType = "linked" }, `deployment type "linked" is not supported`},
		{"hosted", func(o *Options) { o.DeploymentType = "hosted" }, `deployment type "hosted" is not supported`},
		{"unknown deployment", func(o *Options) { o.DeploymentType = "cloud" }, `unknown deployment type "cloud"`},
		{"no name", func(o *Options) { o.Name = " " }, "--name"},
		{"no password", func(o *Options) { o.Password = nil }, "--password-file"},
		{"no dns", func(o *Options) { o.DNSNames = nil }, "--dns"},
		{"bad dns", func(o *Options) { o.DNSNames = []string{"a b"} }, `invalid DNS name or IP address "a b"`},
		{"no address", func(o *Options) { o.Address = "" }, "--address"},
		{"address without port", func(o *Options) { o.Address = "localhost" }, `invalid address "localhost"`},
		{"no provisioner", func(o *Options) { o.ProvisionerName = "" }, "--provisioner"},
		{"root without key", func(o *Options) { o.RootCertPath = "r.crt" }, "--key"},
		{"key without root", func(o *Options) { o.RootKeyPath = "r.key" }, "--root"},
		{"pki only needs no dns", func(o *Options) { o.PKIOnly, o.DNSNames, o.Address, o.ProvisionerName = true, nil, "", "" }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := baseOptions()
			tt.edit(&o)
			err := o.validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("validate: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidOptions) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("validate = %v, want ErrInvalidOptions mentioning %q", err, tt.want)
			}
			// Init refuses before touching anything.
			dir := t.TempDir()
			if _, err := Init(context.Background(), dir, o); !errors.Is(err, ErrInvalidOptions) {
				t.Fatalf("Init = %v, want ErrInvalidOptions", err)
			}
		})
	}
}

func TestCAURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		dns, address, with, want string
	}{
		{"localhost", "127.0.0.1:19443", "", "https://localhost:19443"},
		{"ca.internal", ":443", "", "https://ca.internal"},
		{"::1", "[::1]:9000", "", "https://[::1]:9000"},
		{"ca.internal", ":9000", "https://proxy.example.com", "https://proxy.example.com"},
	}
	for _, tt := range tests {
		o := Options{DNSNames: []string{tt.dns, "other"}, Address: tt.address, WithCAURL: tt.with}
		if got := o.caURL(); got != tt.want {
			t.Fatalf("caURL(%q, %q, %q) = %q, want %q", tt.dns, tt.address, tt.with, got, tt.want)
		}
	}
}
