package pemutil

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/pem"
	"errors"
	"testing"
)

func TestParsePublicKey(t *testing.T) {
	t.Parallel()
	ec := fixtureKey(t, "ec_p256_sec1.pem").Public()
	rsaPub := fixtureKey(t, "rsa_pkcs1.pem").Public()
	ed := fixtureKey(t, "ed25519_pkcs8.pem").Public()
	pkix := mustDecodePEM(t, readFixture(t, "pub_ec256.pem"))
	csr := mustDecodePEM(t, readFixture(t, "csr_ec256.pem"))
	tests := []struct {
		name string
		data []byte
		want any
	}{
		{"PUBLIC KEY EC", readFixture(t, "pub_ec256.pem"), ec},
		{"PUBLIC KEY RSA", readFixture(t, "pub_rsa.pem"), rsaPub},
		{"PUBLIC KEY Ed25519", readFixture(t, "pub_ed.pem"), ed},
		{"RSA PUBLIC KEY", readFixture(t, "pub_rsa_pkcs1.pem"), rsaPub},
		{"CERTIFICATE", readFixture(t, "cert_ec256.pem"), ec},
		{"CERTIFICATE REQUEST", readFixture(t, "csr_ec256.pem"), ec},
		{"NEW CERTIFICATE REQUEST", pem.EncodeToMemory(&pem.Block{Type: TypeNewCertRequest, Bytes: csr.Bytes}), ec},
		{"DER PKIX", pkix.Bytes, ec},
		{"authorized_keys ed25519", readFixture(t, "ssh_ed25519.pub"), fixtureKey(t, "ssh_ed25519").Public()},
		{"private key block skipped", append(readFixture(t, "ec_p256_sec1.pem"), readFixture(t, "pub_rsa.pem")...), rsaPub},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParsePublicKey(tt.data)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if !samePublic(got, tt.want) {
				t.Fatalf("got %T, not the expected key", got)
			}
			switch got.(type) {
			case *ecdsa.PublicKey, *rsa.PublicKey, ed25519.PublicKey:
			default:
				t.Fatalf("unexpected type %T", got)
			}
		})
	}
}

func TestParsePublicKeyErrors(t *testing.T) {
	t.Parallel()
	pub := readFixture(t, "pub_ec256.pem")
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"text", []byte("not a key")},
		{"only a private key", readFixture(t, "ec_p256_sec1.pem")},
		{"truncated", pub[:len(pub)-20]},
		{"garbage in block", pem.EncodeToMemory(&pem.Block{Type: TypePublicKey, Bytes: []byte{1, 2, 3}})},
		{"bad ssh line", []byte("ssh-ed25519 AAAAnotbase64!!! comment\n")},
	}
	for _, tt := range tests {
		if _, err := ParsePublicKey(tt.data); !errors.Is(err, ErrMalformed) {
			t.Fatalf("%s: err = %v, want ErrMalformed", tt.name, err)
		}
	}
}

func TestMarshalPublicKeyRoundTrip(t *testing.T) {
	t.Parallel()
	for _, k := range testKeys(t) {
		for _, in := range []any{k.key, k.key.Public()} {
			b, err := MarshalPublicKey(in)
			if err != nil {
				t.Fatalf("%s: %v", k.name, err)
			}
			if b.Type != TypePublicKey {
				t.Fatalf("%s: type %q", k.name, b.Type)
			}
			got, err := ParsePublicKey(pem.EncodeToMemory(b))
			if err != nil || !samePublic(got, k.key.Public()) {
				t.Fatalf("%s: round trip failed: %v", k.name, err)
			}
		}
	}
	// Byte-identical to OpenSSL's PKIX encoding.
	b, err := MarshalPublicKey(fixtureKey(t, "ec_p256_sec1.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(pem.EncodeToMemory(b)), string(readFixture(t, "pub_ec256.pem")); got != want {
		t.Fatalf("PUBLIC KEY PEM differs from openssl's:\n%s\nwant\n%s", got, want)
	}
	if _, err := MarshalPublicKey("nope"); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("MarshalPublicKey(string): err = %v", err)
	}
}
