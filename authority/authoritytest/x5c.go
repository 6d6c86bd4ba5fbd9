package authoritytest

import (
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"testing"

	mjose "github.com/mayfly-pki/mayfly/internal/jose"
	"github.com/mayfly-pki/mayfly/provisioner/token"
)

// X5CEntry returns the ca.json entry of an X5C provisioner called name
// trusting roots, as `step ca provisioner add --type X5C` writes it ("roots"
// is the base64 of the PEM bundle), with extra's fields added.
func X5CEntry(t testing.TB, name string, roots []*x509.Certificate, extra map[string]any) json.RawMessage {
	t.Helper()
	var bundle []byte
	for _, r := range roots {
		bundle = append(bundle, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: r.Raw})...)
	}
	m := map[string]any{"type": "X5C", "name": name, "roots": bundle}
	for k, v := range extra {
		m[k] = v
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// X5CToken signs c with key, carrying chain (leaf first) in the x5c header
// and kid as step does (the key file's path), as `step ca token --x5c-cert
// --x5c-key` mints it (wire-spec §4.4).
func X5CToken(t testing.TB, c *token.Claims, chain []*x509.Certificate, key crypto.Signer, kid string) string {
	t.Helper()
	jwk, err := mjose.NewSigningJWK(key)
	if err != nil {
		t.Fatal(err)
	}
	jwk.KeyID = kid
	x5c := make([]string, len(chain))
	for i, cert := range chain {
		x5c[i] = base64.StdEncoding.EncodeToString(cert.Raw)
	}
	s, err := token.Sign(jwk, c, map[string]any{"x5c": x5c})
	if err != nil {
		t.Fatalf("token.Sign: %v", err)
	}
	return s
}
