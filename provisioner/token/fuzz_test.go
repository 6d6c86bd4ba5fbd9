package token

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	mjose "github.com/mayfly-pki/mayfly/internal/jose"
)

// FuzzTokenParse feeds arbitrary strings to Headers.Parse (with the signing
// key's headers known) and everything a caller does next with a parsed
// token. Nothing may panic, a token signed with an unrelated key never
// verifies, and the reuse key is bounded. The direct check of compact tokens
// (compact.go), with configured and learned headers, agrees with go-jose on
// every input.
func FuzzTokenParse(f *testing.F) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	key, err := mjose.NewSigningJWK(k)
	if err != nil {
		f.Fatal(err)
	}
	other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	pub := key.Public()
	h := NewHeaders([]*jose.JSONWebKey{&pub})
	now := time.Unix(1795370226, 0)
	seed := func(c *Claims, h map[string]any) {
		raw, err := Sign(key, c, h)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	seed(&Claims{
		Audience: Audience{"https://ca/1.0/sign"}, Issuer: "admin", Subject: "a.example.com", ID: "jti",
		IssuedAt: NewNumericDate(now), NotBefore: NewNumericDate(now), Expiry: NewNumericDate(now.Add(time.Minute)),
		SANs: []string{"a"}, User: map[string]any{}, Step: &StepClaims{SSH: &SSHOptions{CertType: "user"}},
	}, nil)
	seed(&Claims{Audience: Audience{"a", "b#x5c/p"}}, map[string]any{"x5cInsecure": []string{"AAAA"}, "sshpop": "x"})
	// The same header again: learned after the token above verified.
	seed(&Claims{Audience: Audience{"c"}, Subject: "s"}, map[string]any{"x5cInsecure": []string{"AAAA"}, "sshpop": "x"})
	seed(&Claims{Cnf: &Confirmation{X5rtS256: "x"}}, map[string]any{"kid": 5})
	f.Add("")
	f.Add("a.b.c")
	f.Add(b64(`{"alg":"ES256"}`) + "." + b64(`{"aud":["a",1],"exp":1e400}`) + ".AAAA")
	f.Add(b64(`{"alg":"ES256","x5cInsecure":[1,"a",null]}`) + "." + b64(`{"exp":-1e20}`) + ".AAAA")
	f.Add(`{"payload":"e30","signatures":[{"protected":"eyJhbGciOiJFUzI1NiJ9","signature":"AAAA"}]}`)

	f.Add(b64(`{"alg":"ES256","kid":"`+key.KeyID+`","typ":"JWT"}`) + "." + b64(`{"jti":"`+strings.Repeat("j", 300)+`"}`) + ".AAAA")

	f.Fuzz(func(t *testing.T, raw string) {
		tok, err := h.Parse(raw)
		if err != nil {
			if tok != nil {
				t.Fatal("Parse returned a token with an error")
			}
			return
		}
		if tok.Raw != raw {
			t.Fatal("Raw is not the input")
		}
		if k := tok.ReuseKey(); len(k) != 68 || (k[:4] != "jti:" && k[:4] != "jws:") {
			t.Fatalf("reuse key %q", k)
		}
		_ = tok.HeaderString("kid")
		_ = tok.HeaderStrings("x5cInsecure")
		_ = tok.Claims.ValidateTime(now)
		_, _ = SplitAudience(raw)
		if _, err := json.Marshal(tok.Claims); err != nil {
			t.Fatalf("claims do not marshal: %v", err)
		}
		if tok.Verify(other.Public()) == nil {
			t.Fatal("a token verified with an unrelated key")
		}
		if tok.Verify(key.Public()) == nil {
			// What a provisioner does with a token it accepted: its
			// header, if no configured one, is learned and the direct
			// check must still agree with go-jose.
			h.Learn(tok)
		}
		checkAgainstGoJOSE(t, h, raw, &pub, pub.Key, other.Public())
	})
}
