package ca

import (
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// fakeIDToken is an unsigned JWT with an ID token's header and claims.
func fakeIDToken(t *testing.T, claims map[string]any) string {
	t.Helper()
	b, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"RS256","kid":"k","typ":"JWT"}`))
	return h + "." + base64.RawURLEncoding.EncodeToString(b) + "." + base64.RawURLEncoding.EncodeToString([]byte("sig"))
}

// TestOIDCNames checks the CSR names step builds for an ID token.
func TestOIDCNames(t *testing.T) {
	idt := fakeIDToken(t, map[string]any{"iss": "https://accounts.example.com", "sub": "1234", "email": "Jane@example.com", "aud": "c"})
	cn, sans, ok, err := oidcNames(idt, "jane@example.com", nil)
	if err != nil || !ok || cn != "1234" || !slices.Equal(sans, []string{"Jane@example.com", "https://accounts.example.com#1234"}) {
		t.Fatalf("oidcNames = %q, %v, %v, %v", cn, sans, ok, err)
	}
	if _, _, ok, err := oidcNames(idt, "bob@example.com", nil); !ok || err == nil || !strings.Contains(err.Error(), "do not match") {
		t.Fatalf("another email: %v, %v", ok, err)
	}
	cn, sans, ok, err = oidcNames(idt, "Jane@example.com", []string{"Jane@example.com", "x.example.com"})
	if err != nil || !ok || cn != "Jane@example.com" || len(sans) != 2 {
		t.Fatalf("with --san: %q, %v, %v, %v", cn, sans, ok, err)
	}
	// A step token (sans claim) or a token without email is not an ID token.
	for _, c := range []map[string]any{
		{"iss": "admin", "sub": "a.example.com", "sans": []string{"a.example.com"}, "email": "x@y"},
		{"iss": "https://accounts.example.com", "sub": "1234"},
	} {
		if _, _, ok, err := oidcNames(fakeIDToken(t, c), "a.example.com", nil); ok || err != nil {
			t.Fatalf("oidcNames(%v) = %v, %v", c, ok, err)
		}
	}
}
