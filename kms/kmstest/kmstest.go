// Package kmstest is the conformance suite every kms backend runs, and a
// SoftHSM2 token helper for tests that need a PKCS#11 module.
package kmstest

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"testing"

	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/kms"
)

// Suite describes a backend under test.
type Suite struct {
	// KM is the opened key manager.
	KM kms.KeyManager
	// NewName returns a fresh key name the backend accepts for CreateKey;
	// each call must give a name not used before.
	NewName func(t *testing.T) string
	// Missing is a well-formed name of a key that does not exist.
	Missing string
	// Algorithms are the key kinds the backend supports (empty: EC P-256).
	Algorithms []kms.SignatureAlgorithm
	// RenamesKeys is set for backends whose created key has a name of its
	// own (awskms answers key-id=<new id>): the response's name is used.
	RenamesKeys bool
	// NamesRepeat is set for backends where creating a name twice makes
	// two keys (awskms), so no Conflict is expected.
	NamesRepeat bool
}

// Run runs the suite: create, read back, sign and verify for every
// algorithm; refuse to create a key twice; NotFound for a missing key.
func Run(t *testing.T, s Suite) {
	t.Helper()
	ctx := context.Background()
	algs := s.Algorithms
	if len(algs) == 0 {
		algs = []kms.SignatureAlgorithm{kms.ECDSAWithSHA256}
	}
	for _, alg := range algs {
		t.Run(string(alg), func(t *testing.T) {
			name := s.NewName(t)
			resp, err := s.KM.CreateKey(ctx, kms.CreateKeyRequest{Name: name, Algorithm: alg, Bits: 2048})
			if err != nil {
				t.Fatalf("CreateKey(%s): %v", alg, err)
			}
			if resp.Name != name && !s.RenamesKeys || resp.Name == "" {
				t.Fatalf("CreateKey name = %q, want %q", resp.Name, name)
			}
			created := resp.Name
			pub, err := s.KM.GetPublicKey(ctx, created)
			if err != nil {
				t.Fatalf("GetPublicKey: %v", err)
			}
			if !equal(pub, resp.PublicKey) {
				t.Fatalf("GetPublicKey differs from the created key")
			}
			signer, err := s.KM.CreateSigner(ctx, created)
			if err != nil {
				t.Fatalf("CreateSigner: %v", err)
			}
			if !equal(signer.Public(), pub) {
				t.Fatalf("signer's public key differs from GetPublicKey")
			}
			msg := []byte("mayfly kms conformance")
			sig, opts := sign(t, signer, msg)
			if err := verify(pub, msg, sig, opts); err != nil {
				t.Fatalf("signature does not verify: %v", err)
			}
			if err := verify(pub, []byte("other message"), sig, opts); err == nil {
				t.Fatalf("signature verified for another message")
			}
			if s.NamesRepeat {
				return
			}
			if _, err := s.KM.CreateKey(ctx, kms.CreateKeyRequest{Name: name, Algorithm: alg, Bits: 2048}); err == nil {
				t.Fatalf("CreateKey twice with the same name succeeded")
			} else if e := errs.As(err); e == nil || e.Kind != errs.Conflict {
				t.Fatalf("CreateKey twice: want a Conflict error, got %v", err)
			}
		})
	}
	t.Run("missing", func(t *testing.T) {
		_, err := s.KM.GetPublicKey(ctx, s.Missing)
		var e *errs.Error
		if !errors.As(err, &e) || e.Kind != errs.NotFound {
			t.Fatalf("GetPublicKey(missing): want NotFound, got %v", err)
		}
		if _, err := s.KM.CreateSigner(ctx, s.Missing); err == nil {
			t.Fatalf("CreateSigner(missing) succeeded")
		}
	})
}

func equal(a, b crypto.PublicKey) bool {
	e, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && e.Equal(b)
}

func sign(t *testing.T, s crypto.Signer, msg []byte) ([]byte, crypto.SignerOpts) {
	t.Helper()
	var digest []byte
	var opts crypto.SignerOpts
	switch k := s.Public().(type) {
	case ed25519.PublicKey:
		digest, opts = msg, crypto.Hash(0)
	case *ecdsa.PublicKey:
		switch k.Curve.Params().BitSize {
		case 384:
			h := sha512.Sum384(msg)
			digest, opts = h[:], crypto.SHA384
		case 521:
			h := sha512.Sum512(msg)
			digest, opts = h[:], crypto.SHA512
		default:
			h := sha256.Sum256(msg)
			digest, opts = h[:], crypto.SHA256
		}
	default:
		h := sha256.Sum256(msg)
		digest, opts = h[:], crypto.SHA256
	}
	sig, err := s.Sign(rand.Reader, digest, opts)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	return sig, opts
}

func verify(pub crypto.PublicKey, msg, sig []byte, opts crypto.SignerOpts) error {
	var digest []byte
	switch opts.HashFunc() {
	case crypto.SHA256:
		h := sha256.Sum256(msg)
		digest = h[:]
	case crypto.SHA384:
		h := sha512.Sum384(msg)
		digest = h[:]
	case crypto.SHA512:
		h := sha512.Sum512(msg)
		digest = h[:]
	}
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if !ecdsa.VerifyASN1(k, digest, sig) {
			return errors.New("bad ECDSA signature")
		}
		return nil
	case *rsa.PublicKey:
		return rsa.VerifyPKCS1v15(k, opts.HashFunc(), digest, sig)
	case ed25519.PublicKey:
		if !ed25519.Verify(k, msg, sig) {
			return errors.New("bad Ed25519 signature")
		}
		return nil
	}
	return errors.New("unknown key type")
}
