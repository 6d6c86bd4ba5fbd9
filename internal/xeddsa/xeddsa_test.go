package xeddsa

import (
	"crypto/rand"
	"testing"

	"golang.org/x/crypto/curve25519"
)

func newKey(t *testing.T) (priv, pub []byte) {
	t.Helper()
	priv = make([]byte, 32)
	if _, err := rand.Read(priv); err != nil {
		t.Fatal(err)
	}
	pub, err := curve25519.X25519(priv, curve25519.Basepoint)
	if err != nil {
		t.Fatal(err)
	}
	return priv, pub
}

func TestSignVerify(t *testing.T) {
	for i := 0; i < 64; i++ { // both sign bits of the Edwards key
		priv, pub := newKey(t)
		msg := []byte("header.payload")
		sig, err := Sign(rand.Reader, priv, msg)
		if err != nil {
			t.Fatal(err)
		}
		if !Verify(pub, msg, sig) {
			t.Fatalf("key %d: signature does not verify", i)
		}
		if Verify(pub, []byte("header.payloaD"), sig) {
			t.Fatal("signature verifies another message")
		}
		_, other := newKey(t)
		if Verify(other, msg, sig) {
			t.Fatal("signature verifies with another key")
		}
		bad := append([]byte(nil), sig...)
		bad[10] ^= 1
		if Verify(pub, msg, bad) {
			t.Fatal("tampered signature verifies")
		}
	}
}

func TestRefusesBadKeys(t *testing.T) {
	minusOne := []byte{0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}
	p := append([]byte(nil), minusOne...)
	p[0] = 0xed
	top := make([]byte, 32)
	top[31] = 0x80
	for name, k := range map[string][]byte{"-1": minusOne, "p": p, "top bit": top, "short": make([]byte, 31)} {
		if _, err := EdwardsPublicKey(k); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
