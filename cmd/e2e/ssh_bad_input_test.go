package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	gossh "golang.org/x/crypto/ssh"
)

// TestSSHSignBadInput: POST /ssh/sign refuses, with step-ca's status and a
// message naming the rule, a token without step.ssh, principals the token
// does not name, a key that does not parse, an RSA key under 2048 bits and
// a validity outside the SSH claims; a refused host certificate is not
// recorded (GET /ssh/hosts).
func TestSSHSignBadInput(t *testing.T) {
	t.Parallel()
	p := initSSHPKI(t)
	p.start(t)
	u := p.client(t)
	pw := u.path("password.txt")
	hc := httpsClient(p)
	token := func(args ...string) string {
		return strings.TrimSpace(u.ok(t, append([]string{"ca", "token", "--provisioner", "admin", "--provisioner-password-file", pw}, args...)...).stdout)
	}
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecPub, _ := gossh.NewPublicKey(&ec.PublicKey)
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	smallPub, _ := gossh.NewPublicKey(&small.PublicKey)
	b64 := func(k gossh.PublicKey) string { return base64.StdEncoding.EncodeToString(k.Marshal()) }

	for _, tc := range []struct {
		name   string
		body   map[string]any
		status int
		want   string
	}{
		{"x509 token", map[string]any{"publicKey": b64(ecPub), "ott": token("alice"), "certType": "user"},
			http.StatusUnauthorized, "The request lacked necessary authorization to be completed."},
		{"principal outside the token", map[string]any{"publicKey": b64(ecPub), "ott": token("alice", "--ssh"), "certType": "user", "principals": []string{"root"}},
			http.StatusForbidden, "ssh certificate principals does not match - got [root], want [alice]"},
		{"type other than the token's", map[string]any{"publicKey": b64(ecPub), "ott": token("alice", "--ssh"), "certType": "host"},
			http.StatusForbidden, "ssh certificate type does not match - got host, want user"},
		{"key does not parse", map[string]any{"publicKey": base64.StdEncoding.EncodeToString([]byte("not a key")), "ott": token("alice", "--ssh")},
			http.StatusBadRequest, "The request could not be completed: error parsing publicKey."},
		{"no key", map[string]any{"ott": token("alice", "--ssh")},
			http.StatusBadRequest, "missing or empty publicKey"},
		{"bad certType", map[string]any{"publicKey": b64(ecPub), "ott": "x", "certType": "robot"},
			http.StatusBadRequest, "invalid certType 'robot'"},
		{"RSA 1024", map[string]any{"publicKey": b64(smallPub), "ott": token("alice", "--ssh")},
			http.StatusForbidden, "ssh certificate key must be at least 2048 bits (256 bytes)"},
		{"validity above the user maximum", map[string]any{"publicKey": b64(ecPub), "ott": token("alice", "--ssh", "--cert-not-after", "48h")},
			http.StatusForbidden, "requested duration of 48h0m0s is more than the authorized maximum certificate duration of 24h0m0s"},
		{"host validity below the minimum", map[string]any{"publicKey": b64(ecPub), "ott": token("web.example.com", "--ssh", "--host", "--cert-not-after", "1m")},
			http.StatusForbidden, "requested duration of 1m0s is less than minimum accepted duration for selected cert type of 5m0s"},
	} {
		r := do(t, hc, http.MethodPost, p.url+"/ssh/sign", []byte(mustJSON(tc.body)))
		if r.status != tc.status || !strings.Contains(string(r.body), tc.want) {
			t.Errorf("%s: %d %s, want %d with %q", tc.name, r.status, r, tc.status, tc.want)
		}
	}
	r := do(t, hc, http.MethodGet, p.url+"/ssh/hosts", nil)
	if r.status != http.StatusOK || strings.Contains(string(r.body), "web.example.com") {
		t.Fatalf("a refused host certificate was recorded: %d %s", r.status, r)
	}
	// The same host token with a valid window issues, and is recorded.
	body := map[string]any{"publicKey": b64(ecPub), "ott": token("web.example.com", "--ssh", "--host"), "certType": "host"}
	if r := do(t, hc, http.MethodPost, p.url+"/1.0/ssh/sign", []byte(mustJSON(body))); r.status != http.StatusCreated {
		t.Fatalf("host sign: %d %s", r.status, r)
	}
	r = do(t, hc, http.MethodGet, p.url+"/ssh/hosts", nil)
	if !strings.Contains(string(r.body), `"hostname":"web.example.com"`) {
		t.Fatalf("/ssh/hosts: %s", r)
	}
}
