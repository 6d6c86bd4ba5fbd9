// Package xeddsa signs and verifies with X25519 keys: XEdDSA, the EdDSA
// variant of the Signal protocol
// (https://signal.org/docs/specifications/xeddsa/), as step signs and
// step-ca verifies the tokens of Nebula certificates, whose host keys are
// X25519 keys. A signature is an Ed25519 signature by the Edwards form of
// the key with its sign bit 0, so it is verified with crypto/ed25519.
package xeddsa

import (
	"crypto/ed25519"
	"crypto/sha512"
	"errors"
	"io"

	"filippo.io/edwards25519"
	"filippo.io/edwards25519/field"
)

// Algorithm is the JWS "alg" of XEdDSA tokens, as step writes it.
const Algorithm = "XEdDSA"

// Sizes of keys and signatures.
const (
	PublicKeySize  = 32
	PrivateKeySize = 32
	SignatureSize  = 64
)

// hashPrefix1 is hash_1's prefix of the specification: 2^256 - 1 - 1 in
// little-endian, 0xFE then 31 0xFF.
var hashPrefix1 = [32]byte{
	0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
}

// Sign signs message with the X25519 private key priv (32 bytes, clamped
// here as X25519 does), with 64 bytes of randomness from rand.
func Sign(rand io.Reader, priv, message []byte) ([]byte, error) {
	if len(priv) != PrivateKeySize {
		return nil, errors.New("xeddsa: bad private key length")
	}
	k, err := new(edwards25519.Scalar).SetBytesWithClamping(priv)
	if err != nil {
		return nil, err
	}
	// calculate_key_pair: A = kB with its sign bit forced to 0, a = ±k.
	pub := new(edwards25519.Point).ScalarBaseMult(k).Bytes()
	a := new(edwards25519.Scalar)
	if pub[31]&0x80 != 0 {
		a.Negate(k)
		pub[31] &= 0x7f
	} else {
		a.Set(k)
	}
	var z [64]byte
	if _, err := io.ReadFull(rand, z[:]); err != nil {
		return nil, err
	}
	h := sha512.New()
	h.Write(hashPrefix1[:])
	h.Write(a.Bytes())
	h.Write(message)
	h.Write(z[:])
	r, err := new(edwards25519.Scalar).SetUniformBytes(h.Sum(nil))
	if err != nil {
		return nil, err
	}
	R := new(edwards25519.Point).ScalarBaseMult(r).Bytes()
	h.Reset()
	h.Write(R)
	h.Write(pub)
	h.Write(message)
	hs, err := new(edwards25519.Scalar).SetUniformBytes(h.Sum(nil))
	if err != nil {
		return nil, err
	}
	s := new(edwards25519.Scalar).MultiplyAdd(hs, a, r)
	sig := make([]byte, 0, SignatureSize)
	sig = append(sig, R...)
	return append(sig, s.Bytes()...), nil
}

// EdwardsPublicKey returns the Ed25519 key that verifies the XEdDSA
// signatures of the X25519 public key pub (the Montgomery u-coordinate):
// y = (u-1)/(u+1), sign bit 0. A u that is not canonical (≥ p, top bit set)
// or is -1 (no Edwards point) is refused.
func EdwardsPublicKey(pub []byte) (ed25519.PublicKey, error) {
	if len(pub) != PublicKeySize {
		return nil, errors.New("xeddsa: bad public key length")
	}
	if pub[31]&0x80 != 0 {
		return nil, errors.New("xeddsa: public key is not canonical")
	}
	u, err := new(field.Element).SetBytes(pub)
	if err != nil {
		return nil, err
	}
	if b := u.Bytes(); string(b) != string(pub) {
		return nil, errors.New("xeddsa: public key is not canonical")
	}
	one := new(field.Element).One()
	den := new(field.Element).Add(u, one)
	if den.Equal(new(field.Element).Zero()) == 1 {
		return nil, errors.New("xeddsa: invalid public key")
	}
	num := new(field.Element).Subtract(u, one)
	y := new(field.Element).Multiply(num, new(field.Element).Invert(den))
	out := y.Bytes() // sign bit 0: y < p < 2^255
	if _, err := new(edwards25519.Point).SetBytes(out); err != nil {
		return nil, errors.New("xeddsa: invalid public key")
	}
	return ed25519.PublicKey(out), nil
}

// Verify reports whether sig is an XEdDSA signature of message by the
// X25519 public key pub.
func Verify(pub, message, sig []byte) bool {
	if len(sig) != SignatureSize {
		return false
	}
	ed, err := EdwardsPublicKey(pub)
	if err != nil {
		return false
	}
	return ed25519.Verify(ed, message, sig)
}
