package keyutil

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"math/big"
	"testing"
)

func TestGenerate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		kty, crv string
		size     int
		desc     string
		alg      x509.SignatureAlgorithm
	}{
		{"", "", 0, "ECDSA P-256", x509.ECDSAWithSHA256},
		{"EC", "", 0, "ECDSA P-256", x509.ECDSAWithSHA256},
		{"ec", "p-256", 0, "ECDSA P-256", x509.ECDSAWithSHA256},
		{"EC", "P-384", 0, "ECDSA P-384", x509.ECDSAWithSHA384},
		{"EC", "P-521", 0, "ECDSA P-521", x509.ECDSAWithSHA512},
		{"RSA", "", 0, "RSA 2048", x509.SHA256WithRSA},
		{"OKP", "", 0, "Ed25519", x509.PureEd25519},
		{"okp", "ed25519", 0, "Ed25519", x509.PureEd25519},
	}
	for _, tt := range tests {
		t.Run(tt.kty+"/"+tt.crv, func(t *testing.T) {
			t.Parallel()
			k, err := Generate(tt.kty, tt.crv, tt.size)
			if err != nil {
				t.Fatal(err)
			}
			if got := PublicKeyDescription(k.Public()); got != tt.desc {
				t.Fatalf("PublicKeyDescription = %q, want %q", got, tt.desc)
			}
			if got := PublicKeyDescription(k); got != tt.desc {
				t.Fatalf("PublicKeyDescription(private) = %q, want %q", got, tt.desc)
			}
			if got := SignatureAlgorithm(k.Public()); got != tt.alg {
				t.Fatalf("SignatureAlgorithm = %v, want %v", got, tt.alg)
			}
			if !Equal(k, k.Public()) || !Equal(k.Public(), k.Public()) {
				t.Fatalf("key not equal to itself")
			}
			switch k.(type) {
			case *ecdsa.PrivateKey, *rsa.PrivateKey, ed25519.PrivateKey:
			default:
				t.Fatalf("unexpected type %T", k)
			}
		})
	}
}

func TestGenerateErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		kty, crv string
		size     int
	}{
		{"RSA", "", 1024},
		{"RSA", "", 2047},
		{"RSA", "P-256", 0},
		{"EC", "P-224", 0},
		{"EC", "secp256k1", 0},
		{"EC", "", 2048},
		{"OKP", "X25519", 0},
		{"OKP", "", 256},
		{"DSA", "", 0},
		{"oct", "", 0},
	}
	for _, tt := range tests {
		k, err := Generate(tt.kty, tt.crv, tt.size)
		if !errors.Is(err, ErrUnsupportedKey) || k != nil {
			t.Fatalf("Generate(%q, %q, %d) = %T, %v; want ErrUnsupportedKey", tt.kty, tt.crv, tt.size, k, err)
		}
	}
}

func TestDescriptionsOfOtherKeys(t *testing.T) {
	t.Parallel()
	rsa3072 := &rsa.PublicKey{N: modulusOfBits(3072), E: 65537}
	p224, err := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	edPub := edPriv.Public().(ed25519.PublicKey)
	tests := []struct {
		name string
		key  crypto.PublicKey
		desc string
		alg  x509.SignatureAlgorithm
	}{
		{"RSA 3072", rsa3072, "RSA 3072", x509.SHA256WithRSA},
		{"P-224", p224.Public(), "ECDSA P-224", x509.UnknownSignatureAlgorithm},
		{"*ed25519.PublicKey", &edPub, "Ed25519", x509.PureEd25519},
		{"*ed25519.PrivateKey", &edPriv, "Ed25519", x509.PureEd25519},
		{"string", "x", "unknown string", x509.UnknownSignatureAlgorithm},
		{"nil", nil, "unknown <nil>", x509.UnknownSignatureAlgorithm},
	}
	for _, tt := range tests {
		if got := PublicKeyDescription(tt.key); got != tt.desc {
			t.Fatalf("%s: PublicKeyDescription = %q, want %q", tt.name, got, tt.desc)
		}
		if got := SignatureAlgorithm(tt.key); got != tt.alg {
			t.Fatalf("%s: SignatureAlgorithm = %v, want %v", tt.name, got, tt.alg)
		}
	}
}

func TestEqual(t *testing.T) {
	t.Parallel()
	a, _ := Generate("EC", "", 0)
	b, _ := Generate("EC", "", 0)
	c, _ := Generate("OKP", "", 0)
	cPub := c.Public().(ed25519.PublicKey)
	tests := []struct {
		name string
		x, y crypto.PublicKey
		want bool
	}{
		{"same public", a.Public(), a.Public(), true},
		{"private vs public", a, a.Public(), true},
		{"different EC", a.Public(), b.Public(), false},
		{"EC vs Ed25519", a.Public(), c.Public(), false},
		{"ed25519 pointer", &cPub, c, true},
		{"nil", nil, a, false},
		{"both nil", nil, nil, false},
		{"unknown type", "x", "x", false},
	}
	for _, tt := range tests {
		if got := Equal(tt.x, tt.y); got != tt.want {
			t.Fatalf("%s: Equal = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// modulusOfBits returns an odd integer of exactly n bits: enough for size
// reporting, without generating an RSA key.
func modulusOfBits(n int) *big.Int {
	x := new(big.Int).Lsh(big.NewInt(1), uint(n-1))
	return x.Add(x, big.NewInt(1))
}
