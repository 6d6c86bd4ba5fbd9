package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mayfly-pki/mayfly/internal/pemutil"
)

const checkPassword = "check-password"

// checkPKI is a root, an intermediate and its encrypted key on disk, and a
// valid ca.json naming them.
type checkPKI struct {
	dir, root, crt, key, plainKey, otherKey string
}

func newCheckPKI(t *testing.T) *checkPKI {
	t.Helper()
	dir := t.TempDir()
	p := &checkPKI{
		dir: dir, root: filepath.Join(dir, "root_ca.crt"), crt: filepath.Join(dir, "intermediate_ca.crt"),
		key: filepath.Join(dir, "intermediate_ca_key"), plainKey: filepath.Join(dir, "plain_key"),
		otherKey: filepath.Join(dir, "other_key"),
	}
	rootKey := newECKey(t)
	interKey := newECKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Check Root CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	rootDER, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, rootKey.Public(), rootKey)
	if err != nil {
		t.Fatal(err)
	}
	tmpl.SerialNumber, tmpl.Subject = big.NewInt(2), pkix.Name{CommonName: "Check Intermediate CA"}
	rootCert, err := x509.ParseCertificate(rootDER)
	if err != nil {
		t.Fatal(err)
	}
	interDER, err := x509.CreateCertificate(rand.Reader, tmpl, rootCert, interKey.Public(), rootKey)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, p.root, &pem.Block{Type: "CERTIFICATE", Bytes: rootDER})
	writePEM(t, p.crt, &pem.Block{Type: "CERTIFICATE", Bytes: interDER})
	for _, k := range []struct {
		path string
		key  *ecdsa.PrivateKey
		pw   []byte
	}{{p.key, interKey, []byte(checkPassword)}, {p.plainKey, interKey, nil}, {p.otherKey, rootKey, nil}} {
		b, err := pemutil.MarshalPrivateKey(k.key, k.pw)
		if err != nil {
			t.Fatal(err)
		}
		writePEM(t, k.path, b)
	}
	return p
}

func newECKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func writePEM(t *testing.T, path string, b *pem.Block) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(b), 0o600); err != nil {
		t.Fatal(err)
	}
}

// config returns a valid ca.json for p as a map to edit.
func (p *checkPKI) config() map[string]any {
	return map[string]any{
		"root": p.root, "federatedRoots": nil, "crt": p.crt, "key": p.key,
		"address": "127.0.0.1:9000", "insecureAddress": "", "dnsNames": []any{"localhost"},
		"logger": map[string]any{"format": "text"},
		"db":     map[string]any{"type": "badgerv2", "dataSource": filepath.Join(p.dir, "db")},
		"authority": map[string]any{"provisioners": []any{
			map[string]any{"type": "JWK", "name": "admin"},
		}},
		"tls": map[string]any{"minVersion": 1.2, "maxVersion": 1.3},
	}
}

// write writes cfg as ca.json in p.dir and returns its path.
func (p *checkPKI) write(t *testing.T, cfg map[string]any) string {
	t.Helper()
	b, err := json.MarshalIndent(cfg, "", "\t")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(p.dir, "ca.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// problems runs Check and returns its problems (nil when it passed).
func problems(t *testing.T, path string, opts CheckOptions) []Problem {
	t.Helper()
	err := Check(path, opts)
	if err == nil {
		return nil
	}
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("Check = %v, want a *ValidationError", err)
	}
	if !strings.HasPrefix(err.Error(), path+": ") {
		t.Fatalf("the report does not start with the file name: %v", err)
	}
	return ve.Problems
}

// TestCheckReportsEveryProblem: one run lists type errors, Validate's
// problems, unknown provisioner types, file problems and unknown keys, and a
// value that failed to decode is not reported again as missing.
func TestCheckReportsEveryProblem(t *testing.T) {
	t.Parallel()
	p := newCheckPKI(t)
	cfg := p.config()
	cfg["tls"].(map[string]any)["minVersion"] = 1.7
	cfg["db"].(map[string]any)["type"] = "mongo"
	cfg["colour"] = "blue"
	cfg["address"] = 443
	cfg["crt"] = filepath.Join(p.dir, "missing.crt")
	auth := cfg["authority"].(map[string]any)
	auth["provisioners"] = append(auth["provisioners"].([]any), map[string]any{"type": "JWKK", "name": "typo"})
	got := problems(t, p.write(t, cfg), CheckOptions{})
	want := []Problem{
		{"address", "expected a string, got a number"},
		{"tls.minVersion", "unsupported TLS version 1.7"},
		{"db.type", `unknown database type "mongo"`},
		{"authority.provisioners[1].type", `unknown provisioner type "JWKK" (want JWK, OIDC,`},
		{"crt", "cannot read " + filepath.Join(p.dir, "missing.crt") + ": no such file or directory"},
		{"colour", "unknown key"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%v", len(got), len(want), got)
	}
	for i, w := range want {
		if got[i].Path != w.Path || !strings.Contains(got[i].Message, w.Message) {
			t.Errorf("problem %d = %q, want %s: ...%s...", i, got[i], w.Path, w.Message)
		}
	}
}

func TestCheckFiles(t *testing.T) {
	t.Parallel()
	p := newCheckPKI(t)
	missing := filepath.Join(p.dir, "missing")
	tests := []struct {
		name string
		edit func(cfg map[string]any)
		opts CheckOptions
		path string // "" means: no problem
		msg  string
	}{
		{"valid, encrypted key without a password", func(map[string]any) {}, CheckOptions{}, "", ""},
		{"valid, with the password", func(map[string]any) {}, CheckOptions{Password: []byte(checkPassword)}, "", ""},
		{"password from ca.json", func(cfg map[string]any) { cfg["password"] = "wrong" }, CheckOptions{}, "key", "password is incorrect"},
		{"wrong password", func(map[string]any) {}, CheckOptions{Password: []byte("wrong")}, "key", "cannot decrypt " + p.key + ": the password is incorrect"},
		{"unencrypted key", func(cfg map[string]any) { cfg["key"] = p.plainKey }, CheckOptions{}, "", ""},
		{"key of another certificate", func(cfg map[string]any) { cfg["key"] = p.otherKey }, CheckOptions{}, "key", "is not the key of the certificate in crt"},
		{"key missing", func(cfg map[string]any) { cfg["key"] = missing }, CheckOptions{}, "key", "cannot read " + missing + ": no such file or directory"},
		{"key is a certificate", func(cfg map[string]any) { cfg["key"] = p.crt }, CheckOptions{}, "key", p.crt + " is not a private key"},
		{"key in a KMS", func(cfg map[string]any) {
			cfg["key"] = "pkcs11:id=7331"
			cfg["kms"] = map[string]any{"type": "pkcs11"}
		}, CheckOptions{}, "", ""},
		{"key URI", func(cfg map[string]any) { cfg["key"] = "awskms:key-id=abc" }, CheckOptions{}, "", ""},
		{"crt missing", func(cfg map[string]any) { cfg["crt"] = missing }, CheckOptions{}, "crt", "cannot read " + missing},
		{"crt is a key", func(cfg map[string]any) { cfg["crt"] = p.plainKey }, CheckOptions{}, "crt", p.plainKey + " does not hold a certificate"},
		{"root missing", func(cfg map[string]any) { cfg["root"] = missing }, CheckOptions{}, "root", "no such file"},
		{"second root missing", func(cfg map[string]any) { cfg["root"] = []any{p.root, missing} }, CheckOptions{}, "root[1]", "no such file"},
		{"federated root missing", func(cfg map[string]any) { cfg["federatedRoots"] = []any{p.root, missing} }, CheckOptions{}, "federatedRoots[1]", "no such file"},
		{"ssh host key missing", func(cfg map[string]any) {
			cfg["ssh"] = map[string]any{"hostKey": missing, "userKey": p.key}
		}, CheckOptions{}, "ssh.hostKey", "no such file"},
		{"ssh user key wrong password", func(cfg map[string]any) {
			cfg["ssh"] = map[string]any{"hostKey": p.plainKey, "userKey": p.key}
		}, CheckOptions{SSHUserPassword: []byte("wrong")}, "ssh.userKey", "password is incorrect"},
		{"ssh template missing", func(cfg map[string]any) {
			cfg["templates"] = map[string]any{"ssh": map[string]any{"user": []any{
				map[string]any{"name": "config.tpl", "type": "snippet", "template": missing, "path": "~/.ssh/config"},
			}}}
		}, CheckOptions{}, "templates.ssh.user[0].template", "no such file"},
		{"ssh template does not parse", func(cfg map[string]any) {
			cfg["templates"] = map[string]any{"ssh": map[string]any{"host": []any{
				map[string]any{"name": "sshd_config.tpl", "type": "snippet", "template": p.crt + ".tpl", "path": "/etc/ssh/sshd_config"},
			}}}
		}, CheckOptions{}, "templates.ssh.host[0].template", "unclosed action"},
		{"provisioner template missing", func(cfg map[string]any) {
			auth := cfg["authority"].(map[string]any)
			auth["provisioners"] = []any{map[string]any{"type": "JWK", "name": "admin",
				"options": map[string]any{"x509": map[string]any{"templateFile": missing}}}}
		}, CheckOptions{}, "authority.provisioners[0].options.x509.templateFile", "no such file"},
		{"unknown provisioner type", func(cfg map[string]any) {
			auth := cfg["authority"].(map[string]any)
			auth["provisioners"] = append(auth["provisioners"].([]any), map[string]any{"type": "JWKK", "name": "typo"})
		}, CheckOptions{}, "authority.provisioners[1].type", `unknown provisioner type "JWKK"`},
		{"provisioner types are case-insensitive", func(cfg map[string]any) {
			auth := cfg["authority"].(map[string]any)
			auth["provisioners"] = append(auth["provisioners"].([]any), map[string]any{"type": "oidc", "name": "o"})
		}, CheckOptions{}, "", ""},
	}
	if err := os.WriteFile(p.crt+".tpl", []byte("Host {{ .Host"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := p.config()
			tt.edit(cfg)
			b, err := json.Marshal(cfg)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "ca.json")
			if err := os.WriteFile(path, b, 0o600); err != nil {
				t.Fatal(err)
			}
			got := problems(t, path, tt.opts)
			if tt.path == "" {
				if got != nil {
					t.Fatalf("want no problem, got %v", got)
				}
				return
			}
			if len(got) != 1 || got[0].Path != tt.path || !strings.Contains(got[0].Message, tt.msg) {
				t.Fatalf("got %v, want one problem %s: ...%s...", got, tt.path, tt.msg)
			}
			for _, secret := range []string{checkPassword, "wrong"} {
				if strings.Contains(got[0].Message, secret) && !strings.Contains(tt.msg, secret) {
					t.Fatalf("the message shows a password: %v", got)
				}
			}
		})
	}
}

// TestCheckSyntaxAndReadErrors: nothing more can be said of a file that is
// not JSON or cannot be read.
func TestCheckSyntaxAndReadErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var se *SyntaxError
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte("{\n  \"address\": ,\n}"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Check(bad, CheckOptions{}); !errors.As(err, &se) || se.Line != 2 {
		t.Fatalf("Check(syntax error) = %v, want a *SyntaxError on line 2", err)
	}
	if err := Check(filepath.Join(dir, "none.json"), CheckOptions{}); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Check(missing file) = %v, want ErrNotExist", err)
	}
	notObject := filepath.Join(dir, "array.json")
	if err := os.WriteFile(notObject, []byte("[]"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := problems(t, notObject, CheckOptions{}); len(got) != 1 || got[0].Path != "" {
		t.Fatalf("Check([]) = %v, want the one decode problem", got)
	}
}
