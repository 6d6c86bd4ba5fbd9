package pemutil

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
)

// testPassword is the password of every encrypted fixture in testdata/.
const testPassword = "mayfly-test"

// fastIterations keeps PBKDF2 cheap in round-trip tests; one test checks the
// real DefaultPBKDF2Iterations.
const fastIterations = 1000

type namedKey struct {
	name string
	key  crypto.Signer
}

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("read fixture: %v", err)
	}
	return b
}

func fixtureKey(t *testing.T, name string) crypto.Signer {
	t.Helper()
	k, err := ParsePrivateKey(readFixture(t, name), nil)
	if err != nil {
		t.Fatalf("parse fixture %s: %v", name, err)
	}
	return k
}

// testKeys returns one key of every supported type. RSA and P-256 come from
// fixtures to keep tests fast.
func testKeys(t *testing.T) []namedKey {
	t.Helper()
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p521, err := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return []namedKey{
		{"EC P-256", fixtureKey(t, "ec_p256_sec1.pem")},
		{"EC P-384", p384},
		{"EC P-521", p521},
		{"RSA 2048", fixtureKey(t, "rsa_pkcs1.pem")},
		{"Ed25519", fixtureKey(t, "ed25519_pkcs8.pem")},
	}
}

func samePublic(a, b crypto.PublicKey) bool {
	eq, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && eq.Equal(b)
}

func mustDecodePEM(t *testing.T, data []byte) *pem.Block {
	t.Helper()
	b, _ := pem.Decode(data)
	if b == nil {
		t.Fatalf("no PEM block in test data")
	}
	return b
}

func encodePEM(b *pem.Block) []byte {
	return pem.EncodeToMemory(b)
}
