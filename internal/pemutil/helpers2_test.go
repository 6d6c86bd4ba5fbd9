package pemutil

import (
	"crypto/ecdh"
	"crypto/rand"
	"crypto/x509"
	"testing"
)

func mustX25519PKCS8(t *testing.T) []byte {
	t.Helper()
	k, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return der
}
