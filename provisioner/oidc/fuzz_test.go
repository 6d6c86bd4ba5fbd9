package oidc

import (
	"testing"
)

// FuzzParseDiscovery feeds discovery documents from the network to the
// parser: it never panics, and what it accepts has an issuer and an http(s)
// jwks_uri.
func FuzzParseDiscovery(f *testing.F) {
	f.Add([]byte(`{"issuer":"https://accounts.example.com","jwks_uri":"https://accounts.example.com/keys"}`))
	f.Add([]byte(`{"issuer":"https://login.example.com/{tenantid}/v2.0","jwks_uri":"https://login.example.com/common/discovery/v2.0/keys","authorization_endpoint":"https://x/authorize"}`))
	f.Add([]byte(`{"issuer":"","jwks_uri":"x"}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := parseDiscovery(b)
		if err != nil {
			return
		}
		if c.IssuerURL == "" || c.JWKSURL == "" {
			t.Fatalf("accepted %+v", c)
		}
	})
}

// FuzzParseJWKS feeds key sets from the network to the parser: it never
// panics, and what it keeps are valid public signature keys.
func FuzzParseJWKS(f *testing.F) {
	f.Add([]byte(`{"keys":[{"kty":"EC","crv":"P-256","kid":"k1","use":"sig","x":"LsI8nHBflc-mrCbRqhl8d3hSl5sYuSM1AbXBmRfznyg","y":"F99LoOvi7z-ZkumsgoHIhodP8q9brXe4bhF3szK-c_w"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"RSA","kid":"r","n":"sXch","e":"AQAB"},{"kty":"OKP","crv":"X25519","x":"abc"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}`))
	f.Add([]byte(`{"keys":null}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		keys, n, err := parseJWKS(b)
		if err != nil {
			return
		}
		got := 0
		for _, ks := range keys {
			for _, k := range ks {
				got++
				if !k.Valid() || !k.IsPublic() || k.Use == "enc" {
					t.Fatalf("kept %+v", k)
				}
			}
		}
		if got != n || n == 0 {
			t.Fatalf("%d keys counted, %d kept", n, got)
		}
	})
}
