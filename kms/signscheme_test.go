package kms

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"testing"
)

func TestSignSchemeOf(t *testing.T) {
	for _, c := range []struct {
		name string
		pub  crypto.PublicKey
		opts crypto.SignerOpts
		want SignScheme
		ok   bool
	}{
		{"ec", &ecdsa.PublicKey{}, crypto.SHA384, SignScheme{Hash: crypto.SHA384}, true},
		{"ec ignores pss", &ecdsa.PublicKey{}, &rsa.PSSOptions{Hash: crypto.SHA256}, SignScheme{Hash: crypto.SHA256}, true},
		{"rsa pkcs1", &rsa.PublicKey{}, crypto.SHA512, SignScheme{RSA: true, Hash: crypto.SHA512}, true},
		{"rsa pss", &rsa.PublicKey{}, &rsa.PSSOptions{Hash: crypto.SHA256}, SignScheme{RSA: true, Hash: crypto.SHA256, PSS: true}, true},
		{"ed25519", ed25519.PublicKey{}, crypto.Hash(0), SignScheme{}, false},
	} {
		got, ok := SignSchemeOf(c.pub, c.opts)
		if got != c.want || ok != c.ok {
			t.Errorf("%s: SignSchemeOf = %+v, %v; want %+v, %v", c.name, got, ok, c.want, c.ok)
		}
	}
}
