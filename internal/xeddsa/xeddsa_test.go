package xeddsa

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"strings"
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

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestVectors checks signatures against libsignal-protocol-c's XEdDSA test
// vectors (curve25519/ed25519/tests: internal_fast_tests.c,
// internal_slow_tests.c), with their 64 random bytes, so that tokens
// verify across implementations; and the conversion of an X25519 key to
// its Ed25519 form.
func TestVectors(t *testing.T) {
	tests := []struct {
		priv, random, message, sig string
	}{
		{
			"0000000000000000bd000000000000000000000000000000000000000000000040"[:64],
			strings.Repeat("00", 64), strings.Repeat("00", 200),
			"11c7f3e6c4df9e8a5150e1db3b30f92de3a3b3aa438656545fa7390f4bcc7bb26c431d9e90643e4f0eaa0e9c557766fa69ada576d63dcaf2ac326c11d0b97702",
		},
		{
			"b03d85796d92897826af9db91398f3f9737d5f5cde76d1c44c3a3fa96ee51946",
			"4e6cd9e8404de1e0c522728f78de8826584b44efbcf6ac10976760cc41f1820bb86906f3ada5466fc2f309787b3c6fd63919b148d606b779fbf7da61ee577be6",
			"0001000101010000010001000101000101010100010101000000010001010101000001000000000101000100010000000000000001000101000000010000000000000100010000010101000100000000000100010100000000010101010001010100010100010001000100000101010100000000000100010000010000000101010100000101010000010001000101010100010100010101000100000000000101000101010100010000000000010101010000010000000101010101010000010000010101000100",
			"152903386616cd26bb3eece29f72a25c7d05c9cb843f9296b3fbb9ddd6ed9904c1a80216cf493ff1be69f9f1cc16d7dc6ed378aa04eb71519de87a5bd8497b05",
		},
		{
			"b89604b2cce11be9d54ae5011e3c2bfe24353f0606733eb7e4a16fb9e9bfff64",
			"5653d89441204d9ad63cfa3a784a9e2e4d1307a166def7a7b43ac84f232c9a6d161710e6e7912e3861e3e99f902c6d0982c644d6eb12d053662761d03533319d",
			"0001000001010001000101010100010001000000010101010101010101000100010100010000000101010100010001000000010101010000010001010001000001010100000000000001010001010001000001000001000001000100000001010001000101010000010101010001000000000100000000000001010000010000010001010100000000000101010100000101010001000100010101010001010100000101010000010100010100010101010000010100000101010100000000000000000000010100",
			"3350a868cd9e7499a35c33752b2203f8b40fea8c331c688bbbf331cf7c423735a00e15b85d2be1a20377943d135cd49b6a31f4dcfe24ad54ebd29847f1ccbf0d",
		},
	}
	for i, tc := range tests {
		priv, msg, want := unhex(t, tc.priv), unhex(t, tc.message), unhex(t, tc.sig)
		sig, err := Sign(bytes.NewReader(unhex(t, tc.random)), priv, msg)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(sig, want) {
			t.Errorf("vector %d: signature %x, want %x", i, sig, want)
		}
		pub, err := curve25519.X25519(priv, curve25519.Basepoint)
		if err != nil {
			t.Fatal(err)
		}
		if !Verify(pub, msg, want) {
			t.Errorf("vector %d: does not verify", i)
		}
	}
	ed, err := EdwardsPublicKey(unhex(t, "5995f464e9d34d5ca56b9905b9a3cc37c456b2d8d313edbcf584b705b5c04955"))
	if err != nil || hex.EncodeToString(ed) != "9cdcadd470c055ccbf7083ba0956c245c42cad21bd28adb85f257f9a9bb9311c" {
		t.Errorf("EdwardsPublicKey = %x, %v", ed, err)
	}
}
