package crypto

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

// newJWK creates a JWK pair with "step crypto jwk create" and returns the public
// and the private JWK file contents.
func newJWK(t *testing.T, dir, name string, args ...string) (pub, priv []byte) {
	t.Helper()
	pubFile, privFile := filepath.Join(dir, name+".pub.json"), filepath.Join(dir, name+".json")
	if r := run(t, nil, append([]string{"crypto", "jwk", "create", pubFile, privFile}, args...)...); r.Code != 0 {
		t.Fatalf("jwk create %s: %s", name, r.Stderr)
	}
	pub, err := os.ReadFile(pubFile)
	if err != nil {
		t.Fatal(err)
	}
	priv, err = os.ReadFile(privFile)
	if err != nil {
		t.Fatal(err)
	}
	return pub, priv
}

func kidOf(t *testing.T, jwk []byte) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(jwk, &m); err != nil {
		t.Fatal(err)
	}
	kid, _ := m["kid"].(string)
	if kid == "" {
		t.Fatalf("JWK without kid: %s", jwk)
	}
	return kid
}

func listKids(t *testing.T, ks string) []string {
	t.Helper()
	r := run(t, nil, "crypto", "jwk", "keyset", "list", ks)
	if r.Code != 0 {
		t.Fatalf("keyset list: exit %d %q", r.Code, r.Stderr)
	}
	return strings.Fields(r.Stdout)
}

func TestKeysetAddListFindRemove(t *testing.T) {
	t.Setenv("STEPPATH", t.TempDir())
	dir := t.TempDir()
	ecPub, _ := newJWK(t, dir, "ec", "--no-password", "--insecure")
	okpPub, _ := newJWK(t, dir, "okp", "--kty", "OKP", "--no-password", "--insecure")
	ecKid, okpKid := kidOf(t, ecPub), kidOf(t, okpPub)
	ks := filepath.Join(dir, "ks.json")

	for _, pub := range [][]byte{ecPub, okpPub} {
		if r := run(t, pub, "crypto", "jwk", "keyset", "add", ks); r.Code != 0 || r.Stdout != "" {
			t.Fatalf("keyset add: exit %d %q %q", r.Code, r.Stdout, r.Stderr)
		}
	}
	st, err := os.Stat(ks)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("new key set: %v %v, want mode 0600", st, err)
	}
	var set jose.JSONWebKeySet
	if b, _ := os.ReadFile(ks); json.Unmarshal(b, &set) != nil || len(set.Keys) != 2 {
		t.Fatalf("key set file is not a JWKS of 2 keys:\n%s", b)
	}
	if got := listKids(t, ks); strings.Join(got, " ") != ecKid+" "+okpKid {
		t.Fatalf("list = %q, want %q then %q", got, ecKid, okpKid)
	}

	r := run(t, nil, "crypto", "jwk", "keyset", "find", ks, "--kid", okpKid)
	var found, want map[string]any
	if r.Code != 0 || json.Unmarshal([]byte(r.Stdout), &found) != nil {
		t.Fatalf("find: exit %d %q %q", r.Code, r.Stdout, r.Stderr)
	}
	if err := json.Unmarshal(okpPub, &want); err != nil {
		t.Fatal(err)
	}
	for _, member := range []string{"kty", "crv", "x", "kid", "alg", "use"} {
		if found[member] != want[member] {
			t.Fatalf("find: %s = %v, want %v", member, found[member], want[member])
		}
	}
	if r := run(t, nil, "crypto", "jwk", "keyset", "find", ks, "--kid", "nope"); r.Code != 0 || r.Stdout != "" {
		t.Fatalf("find unknown kid: exit %d %q", r.Code, r.Stdout)
	}

	// A kid that matches nothing leaves the file byte for byte.
	before, _ := os.ReadFile(ks)
	if r := run(t, nil, "crypto", "jwk", "keyset", "remove", ks, "--kid", "nope"); r.Code != 0 {
		t.Fatalf("remove unknown kid: %s", r.Stderr)
	}
	if after, _ := os.ReadFile(ks); string(after) != string(before) {
		t.Fatalf("remove of an unknown kid rewrote the file")
	}
	if r := run(t, nil, "crypto", "jwk", "keyset", "remove", ks, "--kid", ecKid); r.Code != 0 {
		t.Fatalf("remove: %s", r.Stderr)
	}
	if got := listKids(t, ks); len(got) != 1 || got[0] != okpKid {
		t.Fatalf("after remove, list = %q, want [%s]", got, okpKid)
	}
	if r := run(t, nil, "crypto", "jwk", "keyset", "remove", ks, "--kid", okpKid); r.Code != 0 {
		t.Fatalf("remove last: %s", r.Stderr)
	}
	if b, _ := os.ReadFile(ks); !strings.Contains(string(b), `"keys": []`) {
		t.Fatalf("empty set written as:\n%s", b)
	}

	// A missing file is an empty set for list and find, and is not created.
	missing := filepath.Join(dir, "missing.json")
	if got := listKids(t, missing); len(got) != 0 {
		t.Fatalf("list of a missing file: %q", got)
	}
	if _, err := os.Stat(missing); err == nil {
		t.Fatalf("list created %s", missing)
	}
}

// As step does (RFC 7517 §4.5 allows it), a second key with a kid already in
// the set is added; find prints both and remove removes both.
func TestKeysetDuplicateKid(t *testing.T) {
	t.Setenv("STEPPATH", t.TempDir())
	dir := t.TempDir()
	pub, _ := newJWK(t, dir, "a", "--kid", "shared", "--no-password", "--insecure")
	other, _ := newJWK(t, dir, "b", "--kid", "shared", "--kty", "RSA", "--no-password", "--insecure")
	ks := filepath.Join(dir, "ks.json")
	for _, k := range [][]byte{pub, other} {
		if r := run(t, k, "crypto", "jwk", "keyset", "add", ks); r.Code != 0 {
			t.Fatalf("add: exit %d %q", r.Code, r.Stderr)
		}
	}
	if got := listKids(t, ks); strings.Join(got, " ") != "shared shared" {
		t.Fatalf("list = %q", got)
	}
	r := run(t, nil, "crypto", "jwk", "keyset", "find", ks, "--kid", "shared")
	dec := json.NewDecoder(strings.NewReader(r.Stdout))
	var ktys []string
	for dec.More() {
		var k map[string]any
		if err := dec.Decode(&k); err != nil {
			t.Fatalf("find output: %v\n%s", err, r.Stdout)
		}
		ktys = append(ktys, fmt.Sprint(k["kty"]))
	}
	if strings.Join(ktys, " ") != "EC RSA" {
		t.Fatalf("find printed keys of types %q, want EC then RSA", ktys)
	}
	if r := run(t, nil, "crypto", "jwk", "keyset", "remove", ks, "--kid", "shared"); r.Code != 0 {
		t.Fatalf("remove: %s", r.Stderr)
	}
	if got := listKids(t, ks); len(got) != 0 {
		t.Fatalf("after remove, list = %q", got)
	}
}

func TestKeysetNotAJWKS(t *testing.T) {
	t.Setenv("STEPPATH", t.TempDir())
	dir := t.TempDir()
	pub, _ := newJWK(t, dir, "k", "--no-password", "--insecure")
	tests := []struct{ name, content string }{
		{"pem", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"},
		{"single-jwk", string(pub)},
		{"array", "[]"},
		{"keys-not-array", `{"keys": {"kty": "EC"}}`},
		{"bad-key", `{"keys": [{"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := writeFile(t, filepath.Join(dir, tt.name+".json"), tt.content)
			for _, args := range [][]string{
				{"add", file},
				{"remove", file, "--kid", "x"},
				{"list", file},
				{"find", file, "--kid", "x"},
			} {
				var stdin []byte
				if args[0] == "add" {
					stdin = pub
				}
				r := run(t, stdin, append([]string{"crypto", "jwk", "keyset"}, args...)...)
				msg := strings.TrimSuffix(r.Stderr, "\n")
				if r.Code != 1 || !strings.Contains(msg, file) || strings.Contains(msg, "\n") {
					t.Fatalf("%s: exit %d, stderr %q: want exit 1 and one line naming the file", args[0], r.Code, r.Stderr)
				}
				if b, _ := os.ReadFile(file); string(b) != tt.content {
					t.Fatalf("%s changed the file:\n%s", args[0], b)
				}
			}
		})
	}
	// Bad input on stdin: one line, the set untouched.
	ks := writeFile(t, filepath.Join(dir, "ks.json"), `{"keys": []}`)
	if r := run(t, []byte("not a jwk"), "crypto", "jwk", "keyset", "add", ks); r.Code != 1 || !strings.HasPrefix(r.Stderr, "error reading JWK: unsupported format") {
		t.Fatalf("bad stdin: exit %d %q", r.Code, r.Stderr)
	}
	if b, _ := os.ReadFile(ks); string(b) != `{"keys": []}` {
		t.Fatalf("bad stdin changed the set: %s", b)
	}
}

// An encrypted private JWK is decrypted and added; other members of the set
// are kept; a set that now holds a private key loses group/other access.
func TestKeysetEncryptedKeyAndExtraMembers(t *testing.T) {
	t.Setenv("STEPPATH", t.TempDir())
	dir := t.TempDir()
	pass := writeFile(t, filepath.Join(dir, "pass"), "secret\n")
	_, priv := newJWK(t, dir, "k", "--password-file", pass)
	ks := filepath.Join(dir, "ks.json")
	if err := os.WriteFile(ks, []byte(`{"issuer": "me", "keys": []}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(ks, 0o644); err != nil {
		t.Fatal(err)
	}
	if r := run(t, priv, "crypto", "jwk", "keyset", "add", ks); r.Code != 1 || !strings.Contains(r.Stderr, "--password-file") {
		t.Fatalf("encrypted JWK without a password: exit %d %q", r.Code, r.Stderr)
	}
	if r := run(t, priv, "crypto", "jwk", "keyset", "add", ks, "--password-file", pass); r.Code != 0 {
		t.Fatalf("add encrypted JWK: %s", r.Stderr)
	}
	b, _ := os.ReadFile(ks)
	var m struct {
		Issuer string           `json:"issuer"`
		Keys   []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(b, &m); err != nil || m.Issuer != "me" || len(m.Keys) != 1 || m.Keys[0]["d"] == nil {
		t.Fatalf("set after add: %v\n%s", err, b)
	}
	if st, _ := os.Stat(ks); st.Mode().Perm() != 0o600 {
		t.Fatalf("set with a private key has mode %v, want 0600", st.Mode().Perm())
	}
}

// Updates through a symlink replace the target and keep the link.
func TestKeysetSymlink(t *testing.T) {
	t.Setenv("STEPPATH", t.TempDir())
	dir := t.TempDir()
	pub, _ := newJWK(t, dir, "k", "--no-password", "--insecure")
	target := writeFile(t, filepath.Join(dir, "target.json"), `{"keys": []}`)
	link := filepath.Join(dir, "link.json")
	if err := os.Symlink(target, link); err != nil {
		t.Skipf("symlink: %v", err)
	}
	if r := run(t, pub, "crypto", "jwk", "keyset", "add", link); r.Code != 0 {
		t.Fatalf("add through a symlink: %s", r.Stderr)
	}
	if st, err := os.Lstat(link); err != nil || st.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("the link was replaced: %v %v", st, err)
	}
	if got := listKids(t, target); len(got) != 1 || got[0] != kidOf(t, pub) {
		t.Fatalf("target after add: %q", got)
	}
}

// Concurrent updates are serialized: none is lost.
func TestUpdateKeySetConcurrent(t *testing.T) {
	dir := t.TempDir()
	ks := filepath.Join(dir, "ks.json")
	const n = 12
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			k := jose.JSONWebKey{Key: []byte("0123456789abcdef"), KeyID: fmt.Sprintf("k%d", i), Algorithm: "HS256"}
			errs <- updateKeySet(ks, func(s *keySet) bool {
				s.keys = append(s.keys, k)
				return true
			})
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	set, err := readKeySetFile(ks)
	if err != nil {
		t.Fatal(err)
	}
	if len(set.keys) != n {
		t.Fatalf("%d keys after %d concurrent adds", len(set.keys), n)
	}
}
