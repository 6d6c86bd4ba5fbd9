package pemutil

import (
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

const (
	opensslPath   = "/usr/bin/openssl"
	sshKeygenPath = "/usr/bin/ssh-keygen"
)

func requireTool(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		t.Skipf("%s not available: interoperability not tested", path)
	}
}

func run(t *testing.T, name string, args ...string) []byte {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return out
}

// OpenSSL reads the keys we write (step's flavour, encrypted and not) and
// derives the same public key.
func TestInteropOpenSSLReadsOurKeys(t *testing.T) {
	t.Parallel()
	requireTool(t, opensslPath)
	for _, k := range testKeys(t) {
		for _, pw := range []string{"", testPassword} {
			name := k.name + "/plain"
			if pw != "" {
				name = k.name + "/encrypted"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				// The real iteration count: this is what step writes for Ed25519.
				b, err := MarshalPrivateKey(k.key, []byte(pw))
				if err != nil {
					t.Fatal(err)
				}
				path := filepath.Join(t.TempDir(), "key.pem")
				if err := os.WriteFile(path, pem.EncodeToMemory(b), 0o600); err != nil {
					t.Fatal(err)
				}
				args := []string{"pkey", "-in", path, "-pubout"}
				if pw != "" {
					args = append(args, "-passin", "pass:"+pw)
				}
				pub, err := ParsePublicKey(run(t, opensslPath, args...))
				if err != nil {
					t.Fatalf("parse openssl output: %v", err)
				}
				if !samePublic(pub, k.key.Public()) {
					t.Fatalf("openssl derived a different public key")
				}
				if pw == "" {
					return
				}
				args[len(args)-1] = "pass:wrong"
				if out, err := exec.Command(opensslPath, args...).CombinedOutput(); err == nil {
					t.Fatalf("openssl accepted a wrong password:\n%s", out)
				}
			})
		}
	}
}

// We read keys OpenSSL writes now (the static fixtures cover the same with
// stored files; this catches drift in the installed OpenSSL).
func TestInteropWeReadOpenSSLKeys(t *testing.T) {
	t.Parallel()
	requireTool(t, opensslPath)
	dir := t.TempDir()
	p := func(name string) string { return filepath.Join(dir, name) }
	pass := "pass:" + testPassword
	run(t, opensslPath, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", p("ec.pem"))
	run(t, opensslPath, "genpkey", "-algorithm", "ED25519", "-out", p("ed.pem"))
	run(t, opensslPath, "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", p("rsa.pem"))
	run(t, opensslPath, "ec", "-in", p("ec.pem"), "-aes256", "-passout", pass, "-out", p("ec_legacy.pem"))
	run(t, opensslPath, "rsa", "-in", p("rsa.pem"), "-aes128", "-traditional", "-passout", pass, "-out", p("rsa_legacy.pem"))
	run(t, opensslPath, "pkcs8", "-topk8", "-in", p("ec.pem"), "-v2", "aes-256-cbc", "-v2prf", "hmacWithSHA256", "-passout", pass, "-out", p("ec_p8.pem"))
	run(t, opensslPath, "pkcs8", "-topk8", "-in", p("ed.pem"), "-v2", "aes-256-cbc", "-v2prf", "hmacWithSHA256", "-passout", pass, "-out", p("ed_p8.pem"))
	run(t, opensslPath, "pkcs8", "-topk8", "-in", p("rsa.pem"), "-v2", "des3", "-passout", pass, "-out", p("rsa_p8_des3.pem"))
	tests := []struct {
		file, source string
		encrypted    bool
	}{
		{"ec.pem", "ec.pem", false},
		{"ed.pem", "ed.pem", false},
		{"rsa.pem", "rsa.pem", false},
		{"ec_legacy.pem", "ec.pem", true},
		{"rsa_legacy.pem", "rsa.pem", true},
		{"ec_p8.pem", "ec.pem", true},
		{"ed_p8.pem", "ed.pem", true},
		{"rsa_p8_des3.pem", "rsa.pem", true},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(p(tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if IsEncrypted(data) != tt.encrypted {
				t.Fatalf("IsEncrypted = %v, want %v", !tt.encrypted, tt.encrypted)
			}
			var pw []byte
			if tt.encrypted {
				pw = []byte(testPassword)
			}
			k, err := ParsePrivateKey(data, pw)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			want, err := ParsePublicKey(run(t, opensslPath, "pkey", "-in", p(tt.source), "-pubout"))
			if err != nil {
				t.Fatal(err)
			}
			if !samePublic(k.Public(), want) {
				t.Fatalf("public key differs from openssl's")
			}
		})
	}
}

func TestInteropSSHKeygen(t *testing.T) {
	t.Parallel()
	requireTool(t, sshKeygenPath)
	tests := []struct {
		kty, bits, pass string
	}{
		{"ed25519", "", ""},
		{"ed25519", "", testPassword},
		{"ecdsa", "384", testPassword},
		{"rsa", "2048", ""},
	}
	for _, tt := range tests {
		t.Run(tt.kty+"/"+map[bool]string{true: "encrypted", false: "plain"}[tt.pass != ""], func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "id")
			args := []string{"-q", "-t", tt.kty, "-N", tt.pass, "-a", "2", "-C", "test", "-f", path}
			if tt.bits != "" {
				args = append(args, "-b", tt.bits)
			}
			run(t, sshKeygenPath, args...)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			pubLine, err := os.ReadFile(path + ".pub")
			if err != nil {
				t.Fatal(err)
			}
			if IsEncrypted(data) != (tt.pass != "") {
				t.Fatalf("IsEncrypted = %v", !(tt.pass != ""))
			}
			k, err := ParsePrivateKey(data, []byte(tt.pass))
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			pub, err := ParsePublicKey(pubLine)
			if err != nil {
				t.Fatalf("parse .pub: %v", err)
			}
			if !samePublic(k.Public(), pub) {
				t.Fatalf("private key does not match .pub")
			}
		})
	}
}
