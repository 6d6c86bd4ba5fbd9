package azurekms

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	_ "crypto/sha512"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/mayfly-pki/mayfly/kms"
	"github.com/mayfly-pki/mayfly/kms/kmstest"
	"github.com/mayfly-pki/mayfly/kms/kmstest/azurekv"
)

// TestEmulator runs the conformance suite with the real azkeys client and
// azidentity client-secret credential against the emulator on 127.0.0.1.
func TestEmulator(t *testing.T) {
	t.Parallel()
	srv := azurekv.Start(t)
	km, err := New(context.Background(), kms.Options{URI: srv.KMSURI()})
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int32
	kmstest.Run(t, kmstest.Suite{
		KM:          km,
		NewName:     func(t *testing.T) string { return fmt.Sprintf("azurekms:name=key%d;vault=test-vault", n.Add(1)) },
		Missing:     "azurekms:name=missing;vault=test-vault",
		Algorithms:  []kms.SignatureAlgorithm{kms.ECDSAWithSHA256, kms.ECDSAWithSHA384, kms.SHA256WithRSA},
		RenamesKeys: true,
		NamesRepeat: true,
	})
	t.Run("latest version and hsm", func(t *testing.T) {
		r, err := km.CreateKey(context.Background(), kms.CreateKeyRequest{Name: "azurekms:name=ca;vault=test-vault?hsm=true"})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(r.Name, "?version=") {
			t.Fatalf("name %q has no version", r.Name)
		}
		s, err := km.CreateSigner(context.Background(), "azurekms:name=ca;vault=test-vault")
		if err != nil {
			t.Fatal(err)
		}
		if !s.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(r.PublicKey) {
			t.Fatal("latest version is another key")
		}
	})
	t.Run("rsa-pss", func(t *testing.T) {
		r, err := km.CreateKey(context.Background(), kms.CreateKeyRequest{Name: "azurekms:name=pss;vault=test-vault", Algorithm: kms.SHA256WithRSA, Bits: 2048})
		if err != nil {
			t.Fatal(err)
		}
		s, err := km.CreateSigner(context.Background(), r.Name)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range []crypto.Hash{crypto.SHA256, crypto.SHA384, crypto.SHA512} {
			d := h.New()
			d.Write([]byte("message"))
			digest := d.Sum(nil)
			opts := &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: h}
			sig, err := s.Sign(rand.Reader, digest, opts)
			if err != nil {
				t.Fatalf("%v: %v", h, err)
			}
			if err := rsa.VerifyPSS(r.PublicKey.(*rsa.PublicKey), h, digest, sig, opts); err != nil {
				t.Fatalf("RSA-PSS with %v does not verify: %v", h, err)
			}
		}
	})
	t.Run("wrong secret", func(t *testing.T) {
		bad, err := New(context.Background(), kms.Options{URI: strings.Replace(srv.KMSURI(), azurekv.Secret, "wrong", 1)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := bad.GetPublicKey(context.Background(), "azurekms:name=ca;vault=test-vault"); err == nil || strings.Contains(err.Error(), "wrong") {
			t.Fatalf("wrong secret: %v", err)
		}
	})
}

func TestParseKey(t *testing.T) {
	t.Parallel()
	r, err := parseKey("azurekms:name=intermediate-ca-key;vault=example-vault-0?version=15faf8b8b80d4f1ead067c6383a38b8f&hsm=true")
	if err != nil {
		t.Fatal(err)
	}
	if r != (keyRef{vault: "example-vault-0", name: "intermediate-ca-key", version: "15faf8b8b80d4f1ead067c6383a38b8f", hsm: true}) {
		t.Fatalf("%+v", r)
	}
	for _, bad := range []string{"azurekms:name=x", "azurekms:vault=v", "pkcs11:id=1"} {
		if _, err := parseKey(bad); err == nil {
			t.Errorf("parseKey(%q) accepted", bad)
		}
	}
	if _, err := New(context.Background(), kms.Options{URI: "azurekms:client-id=a"}); err == nil {
		t.Error("partial credentials accepted")
	}
	if _, err := New(context.Background(), kms.Options{URI: "azurekms:environment=Mars"}); err == nil {
		t.Error("unknown environment accepted")
	}
}
