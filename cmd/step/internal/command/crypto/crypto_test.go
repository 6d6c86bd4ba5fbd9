package crypto

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/mayfly-pki/mayfly/cmd/step/internal/steptest"
	"github.com/mayfly-pki/mayfly/internal/pemutil"
)

func cmds() []*cli.Command { return []*cli.Command{Command()} }

func run(t *testing.T, stdin []byte, args ...string) steptest.Result {
	t.Helper()
	return steptest.Run(t, cmds, stdin, args...)
}

func writeFile(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestKeypair(t *testing.T) {
	t.Setenv("STEPPATH", t.TempDir())
	dir := t.TempDir()
	pass := writeFile(t, filepath.Join(dir, "pass"), "secret\n")
	_, haveOpenSSL := exec.LookPath("openssl")
	tests := []struct {
		name   string
		args   []string
		header string
		check  func(any) bool
	}{
		{"ec", nil, "Proc-Type: 4,ENCRYPTED", func(k any) bool { _, ok := k.(*ecdsa.PrivateKey); return ok }},
		{"ec384", []string{"--curve", "P-384"}, "BEGIN EC PRIVATE KEY", func(k any) bool { e, ok := k.(*ecdsa.PrivateKey); return ok && e.Curve.Params().BitSize == 384 }},
		{"ec521", []string{"--kty", "EC", "--curve", "P-521"}, "BEGIN EC PRIVATE KEY", func(k any) bool { e, ok := k.(*ecdsa.PrivateKey); return ok && e.Curve.Params().BitSize == 521 }},
		{"rsa", []string{"--kty", "RSA"}, "BEGIN RSA PRIVATE KEY", func(k any) bool { r, ok := k.(*rsa.PrivateKey); return ok && r.N.BitLen() == 2048 }},
		{"okp", []string{"--kty", "OKP", "--crv", "Ed25519"}, "BEGIN ENCRYPTED PRIVATE KEY", func(k any) bool { _, ok := k.(ed25519.PrivateKey); return ok }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pub, priv := filepath.Join(dir, tt.name+".pub"), filepath.Join(dir, tt.name+".key")
			r := run(t, nil, append([]string{"crypto", "keypair", pub, priv, "--password-file", pass}, tt.args...)...)
			if r.Code != 0 {
				t.Fatalf("exit %d: %s", r.Code, r.Stderr)
			}
			b, _ := os.ReadFile(priv)
			if !strings.Contains(string(b), tt.header) {
				t.Fatalf("key file lacks %q:\n%s", tt.header, b)
			}
			k, err := pemutil.ParsePrivateKey(b, []byte("secret"))
			if err != nil || !tt.check(k) {
				t.Fatalf("parse: %T %v", k, err)
			}
			if st, _ := os.Stat(priv); st.Mode().Perm() != 0o600 {
				t.Fatalf("private key mode %v", st.Mode().Perm())
			}
			if haveOpenSSL == nil {
				if out, err := exec.Command("openssl", "pkey", "-in", priv, "-passin", "pass:secret", "-noout").CombinedOutput(); err != nil {
					t.Fatalf("openssl cannot read the key: %v %s", err, out)
				}
			}
		})
	}
	// Unencrypted keys need --no-password --insecure.
	pub, priv := filepath.Join(dir, "plain.pub"), filepath.Join(dir, "plain.key")
	if r := run(t, nil, "crypto", "keypair", pub, priv, "--no-password"); r.Code != 1 || !strings.Contains(r.Stderr, "--insecure") {
		t.Fatalf("--no-password alone: exit %d %q", r.Code, r.Stderr)
	}
	if r := run(t, nil, "crypto", "keypair", pub, priv, "--no-password", "--insecure"); r.Code != 0 {
		t.Fatalf("--no-password --insecure: %s", r.Stderr)
	}
	if b, _ := os.ReadFile(priv); !strings.HasPrefix(string(b), "-----BEGIN EC PRIVATE KEY-----\nMH") {
		t.Fatalf("unencrypted key:\n%s", b)
	}
	// Batch mode without a password source fails before writing.
	p2, k2 := filepath.Join(dir, "x.pub"), filepath.Join(dir, "x.key")
	if r := run(t, nil, "crypto", "keypair", p2, k2); r.Code != 1 {
		t.Fatalf("no password: exit %d", r.Code)
	}
	if _, err := os.Stat(k2); err == nil {
		t.Fatalf("key written without a password")
	}
}

func TestChangePass(t *testing.T) {
	t.Setenv("STEPPATH", t.TempDir())
	dir := t.TempDir()
	oldPass := writeFile(t, filepath.Join(dir, "old"), "old\n")
	newPass := writeFile(t, filepath.Join(dir, "new"), "new\n")
	for _, tt := range []struct{ kty, header string }{{"EC", "Proc-Type: 4,ENCRYPTED"}, {"OKP", "BEGIN ENCRYPTED PRIVATE KEY"}} {
		pub, priv := filepath.Join(dir, tt.kty+".pub"), filepath.Join(dir, tt.kty+".key")
		if r := run(t, nil, "crypto", "keypair", pub, priv, "--kty", tt.kty, "--password-file", oldPass); r.Code != 0 {
			t.Fatal(r.Stderr)
		}
		before, _ := os.ReadFile(priv)
		// Wrong old password: exit 1 naming the file, nothing written.
		if r := run(t, nil, "crypto", "change-pass", priv, "--password-file", newPass, "--new-password-file", newPass); r.Code != 1 || !strings.Contains(r.Stderr, priv) {
			t.Fatalf("wrong password: exit %d %q", r.Code, r.Stderr)
		}
		if after, _ := os.ReadFile(priv); string(after) != string(before) {
			t.Fatalf("key changed after a failed change-pass")
		}
		if r := run(t, nil, "crypto", "change-pass", priv, "--password-file", oldPass, "--new-password-file", newPass); r.Code != 0 {
			t.Fatalf("change-pass: %s", r.Stderr)
		}
		after, _ := os.ReadFile(priv)
		if !strings.Contains(string(after), tt.header) {
			t.Fatalf("%s: flavour not kept:\n%s", tt.kty, after)
		}
		if _, err := pemutil.ParsePrivateKey(after, []byte("new")); err != nil {
			t.Fatalf("%s: new password does not open the key: %v", tt.kty, err)
		}
		out := filepath.Join(dir, tt.kty+".plain")
		if r := run(t, nil, "crypto", "change-pass", priv, "--password-file", newPass, "--no-password", "--insecure", "--out", out); r.Code != 0 {
			t.Fatalf("--no-password: %s", r.Stderr)
		}
		if plain, _ := os.ReadFile(out); pemutil.IsEncrypted(plain) {
			t.Fatalf("%s: --no-password output is encrypted", tt.kty)
		}
	}
}

func TestKeyPublicFormatInspect(t *testing.T) {
	t.Setenv("STEPPATH", t.TempDir())
	dir := t.TempDir()
	pub, priv := filepath.Join(dir, "k.pub"), filepath.Join(dir, "k.key")
	if r := run(t, nil, "crypto", "keypair", pub, priv, "--no-password", "--insecure"); r.Code != 0 {
		t.Fatal(r.Stderr)
	}
	wantPub, _ := os.ReadFile(pub)
	if r := run(t, nil, "crypto", "key", "public", priv); r.Code != 0 || r.Stdout != string(wantPub) {
		t.Fatalf("key public: exit %d %q", r.Code, r.Stdout)
	}
	der := filepath.Join(dir, "k.der")
	if r := run(t, nil, "crypto", "key", "format", priv, "--out", der); r.Code != 0 {
		t.Fatalf("format to DER: %s", r.Stderr)
	}
	r := run(t, nil, "crypto", "key", "format", der, "--pem", "--pkcs8", "--no-password", "--insecure")
	if r.Code != 0 || !strings.HasPrefix(r.Stdout, "-----BEGIN PRIVATE KEY-----") {
		t.Fatalf("format to PKCS#8 PEM: exit %d %q %q", r.Code, r.Stdout, r.Stderr)
	}
	if r := run(t, nil, "crypto", "key", "format", pub, "--ssh"); r.Code != 0 || !strings.HasPrefix(r.Stdout, "ecdsa-sha2-nistp256 AAAA") {
		t.Fatalf("format --ssh: %q %q", r.Stdout, r.Stderr)
	}
	r = run(t, nil, "crypto", "key", "format", pub, "--jwk")
	var jwk map[string]any
	if r.Code != 0 || json.Unmarshal([]byte(r.Stdout), &jwk) != nil || jwk["kty"] != "EC" || jwk["d"] != nil {
		t.Fatalf("format --jwk: %q %q", r.Stdout, r.Stderr)
	}
	if r := run(t, nil, "crypto", "key", "inspect", priv); r.Code != 0 || !strings.HasPrefix(r.Stdout, "ECDSA Public-Key: (256 bit)") || !strings.Contains(r.Stdout, string(wantPub)) {
		t.Fatalf("key inspect: %q %q", r.Stdout, r.Stderr)
	}
	garbage := writeFile(t, filepath.Join(dir, "garbage"), "nope")
	if r := run(t, nil, "crypto", "key", "public", garbage); r.Code != 1 || !strings.Contains(r.Stderr, garbage) {
		t.Fatalf("garbage key: exit %d %q", r.Code, r.Stderr)
	}
}

func TestJWKAndJWT(t *testing.T) {
	t.Setenv("STEPPATH", t.TempDir())
	dir := t.TempDir()
	pass := writeFile(t, filepath.Join(dir, "pass"), "secret")
	pub, priv := filepath.Join(dir, "pub.json"), filepath.Join(dir, "priv.json")
	if r := run(t, nil, "crypto", "jwk", "create", pub, priv, "--password-file", pass); r.Code != 0 {
		t.Fatalf("jwk create: %s", r.Stderr)
	}
	pubJSON, _ := os.ReadFile(pub)
	var pubJWK map[string]any
	if err := json.Unmarshal(pubJSON, &pubJWK); err != nil || pubJWK["use"] != "sig" || pubJWK["alg"] != "ES256" || pubJWK["d"] != nil {
		t.Fatalf("public JWK: %s %v", pubJSON, err)
	}
	privJSON, _ := os.ReadFile(priv)
	if !strings.Contains(string(privJSON), `"protected"`) || strings.Contains(string(privJSON), `"d"`) {
		t.Fatalf("private JWK is not encrypted: %s", privJSON)
	}
	r := run(t, pubJSON, "crypto", "jwk", "thumbprint")
	if r.Code != 0 || strings.TrimSpace(r.Stdout) != pubJWK["kid"] {
		t.Fatalf("thumbprint %q, kid %v: %s", r.Stdout, pubJWK["kid"], r.Stderr)
	}
	r = run(t, privJSON, "crypto", "jwk", "public", "--password-file", pass)
	var pub2 map[string]any
	if r.Code != 0 || json.Unmarshal([]byte(r.Stdout), &pub2) != nil || pub2["x"] != pubJWK["x"] || pub2["d"] != nil {
		t.Fatalf("jwk public: %q %q", r.Stdout, r.Stderr)
	}

	exp := strconv.FormatInt(time.Now().Add(5*time.Minute).Unix(), 10)
	r = run(t, nil, "crypto", "jwt", "sign", "--key", priv, "--password-file", pass, "--iss", "joe", "--aud", "bob", "--sub", "hi", "--exp", exp)
	if r.Code != 0 {
		t.Fatalf("jwt sign: %s", r.Stderr)
	}
	token := strings.TrimSpace(r.Stdout)
	r = run(t, []byte(token), "crypto", "jwt", "inspect", "--insecure")
	var parts struct {
		Header  map[string]any `json:"header"`
		Payload map[string]any `json:"payload"`
	}
	if r.Code != 0 || json.Unmarshal([]byte(r.Stdout), &parts) != nil {
		t.Fatalf("jwt inspect: %q %q", r.Stdout, r.Stderr)
	}
	if parts.Header["typ"] != "JWT" || parts.Header["kid"] != pubJWK["kid"] || parts.Payload["aud"] != "bob" || parts.Payload["iss"] != "joe" || len(parts.Payload["jti"].(string)) != 64 {
		t.Fatalf("token: %+v", parts)
	}
	if r := run(t, []byte(token), "crypto", "jwt", "verify", "--key", pub, "--iss", "joe", "--aud", "bob"); r.Code != 0 {
		t.Fatalf("jwt verify: %s", r.Stderr)
	}
	tests := []struct {
		name  string
		token string
		args  []string
	}{
		{"wrong audience", token, []string{"--key", pub, "--iss", "joe", "--aud", "alice"}},
		{"wrong issuer", token, []string{"--key", pub, "--iss", "eve", "--aud", "bob"}},
		{"tampered", token[:len(token)-4] + "AAAA", []string{"--key", pub, "--iss", "joe", "--aud", "bob"}},
		{"missing iss", token, []string{"--key", pub, "--aud", "bob"}},
	}
	for _, tt := range tests {
		if r := run(t, []byte(tt.token), append([]string{"crypto", "jwt", "verify"}, tt.args...)...); r.Code != 1 {
			t.Errorf("%s: exit %d, want 1", tt.name, r.Code)
		}
	}
	// PEM keys sign too, and a payload file is merged.
	kp, kk := filepath.Join(dir, "k.pub"), filepath.Join(dir, "k.key")
	if r := run(t, nil, "crypto", "keypair", kp, kk, "--kty", "OKP", "--no-password", "--insecure"); r.Code != 0 {
		t.Fatal(r.Stderr)
	}
	payload := writeFile(t, filepath.Join(dir, "payload.json"), `{"custom": "value"}`)
	r = run(t, nil, "crypto", "jwt", "sign", payload, "--key", kk, "--subtle")
	if r.Code != 0 {
		t.Fatalf("jwt sign with PEM: %s", r.Stderr)
	}
	r = run(t, []byte(r.Stdout), "crypto", "jwt", "verify", "--key", kp, "--subtle")
	if r.Code != 0 || !strings.Contains(r.Stdout, `"custom": "value"`) || !strings.Contains(r.Stdout, `"alg": "EdDSA"`) {
		t.Fatalf("verify EdDSA: %q %q", r.Stdout, r.Stderr)
	}
	if r := run(t, nil, "crypto", "jwt", "sign", "--key", kk); r.Code != 1 || !strings.Contains(r.Stderr, "--iss") {
		t.Fatalf("sign without claims: exit %d %q", r.Code, r.Stderr)
	}
}

func TestHashAndRand(t *testing.T) {
	t.Setenv("STEPPATH", t.TempDir())
	dir := t.TempDir()
	f := writeFile(t, filepath.Join(dir, "f"), "hello")
	const sha = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
	if r := run(t, nil, "crypto", "hash", "digest", f); r.Code != 0 || r.Stdout != sha+"  "+f+"\n" {
		t.Fatalf("digest: %q %q", r.Stdout, r.Stderr)
	}
	if r := run(t, nil, "crypto", "hash", "compare", sha, f); r.Code != 0 || r.Stdout != "ok\n" {
		t.Fatalf("compare ok: %d %q", r.Code, r.Stdout)
	}
	if r := run(t, nil, "crypto", "hash", "compare", strings.Repeat("0", 64), f); r.Code != 1 || r.Stderr != "fail\n" {
		t.Fatalf("compare fail: %d %q", r.Code, r.Stderr)
	}
	if r := run(t, nil, "crypto", "hash", "digest", "--alg", "md5", f); r.Code != 1 {
		t.Fatalf("md5 without --insecure: exit %d", r.Code)
	}
	for _, tt := range []struct {
		args []string
		n    int
		set  string
	}{
		{nil, 32, "0123456789abcdef"},
		{[]string{"10", "--format", "dec"}, 10, "0123456789"},
		{[]string{"--format", "alphanumeric", "64"}, 64, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"},
	} {
		r := run(t, nil, append([]string{"crypto", "rand"}, tt.args...)...)
		s := strings.TrimSpace(r.Stdout)
		if r.Code != 0 || len(s) != tt.n || strings.Trim(s, tt.set) != "" {
			t.Fatalf("rand %q: %q %q", tt.args, s, r.Stderr)
		}
	}
}

func TestJWE(t *testing.T) {
	t.Setenv("STEPPATH", t.TempDir())
	dir := t.TempDir()
	for _, kty := range []string{"EC", "RSA"} {
		pub, priv := filepath.Join(dir, kty+".pub"), filepath.Join(dir, kty+".key")
		if r := run(t, nil, "crypto", "keypair", pub, priv, "--kty", kty, "--no-password", "--insecure"); r.Code != 0 {
			t.Fatal(r.Stderr)
		}
		r := run(t, []byte("attack at dawn"), "crypto", "jwe", "encrypt", "--key", pub)
		if r.Code != 0 || !strings.HasPrefix(r.Stdout, "{") || strings.Contains(r.Stdout, "attack") {
			t.Fatalf("%s encrypt: %q %q", kty, r.Stdout, r.Stderr)
		}
		d := run(t, []byte(r.Stdout), "crypto", "jwe", "decrypt", "--key", priv)
		if d.Code != 0 || d.Stdout != "attack at dawn" {
			t.Fatalf("%s decrypt: %q %q", kty, d.Stdout, d.Stderr)
		}
		if d := run(t, []byte(r.Stdout), "crypto", "jwe", "decrypt", "--key", pub); d.Code != 1 {
			t.Fatalf("%s decrypt with the public key: exit %d", kty, d.Code)
		}
	}
	// A signing JWK needs --subtle.
	pub, priv := filepath.Join(dir, "sig.json"), filepath.Join(dir, "sig.key.json")
	if r := run(t, nil, "crypto", "jwk", "create", pub, priv, "--no-password", "--insecure"); r.Code != 0 {
		t.Fatal(r.Stderr)
	}
	if r := run(t, []byte("x"), "crypto", "jwe", "encrypt", "--key", pub); r.Code != 1 || !strings.Contains(r.Stderr, "'enc'") {
		t.Fatalf("sig key: exit %d %q", r.Code, r.Stderr)
	}
}
