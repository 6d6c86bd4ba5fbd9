//go:build cgo && !nopkcs11

package pkcs11

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"testing"

	"github.com/mayfly-pki/mayfly/kms"
	"github.com/mayfly-pki/mayfly/kms/kmstest"
)

// BenchmarkSign compares one P-256 signature in-process, through SoftHSM2
// directly, and through SoftHSM2 behind the Guard plus the verification the
// issuer makes: the last two differ by the CA's own overhead per signature.
func BenchmarkSign(b *testing.B) {
	h := kmstest.NewSoftHSM(b, "bench")
	b.Setenv("SOFTHSM2_CONF", h.Conf)
	km, err := New(context.Background(), kms.Options{URI: h.URI()})
	if err != nil {
		b.Fatal(err)
	}
	defer km.Close()
	if _, err := km.CreateKey(context.Background(), kms.CreateKeyRequest{Name: "pkcs11:id=01;object=bench"}); err != nil {
		b.Fatal(err)
	}
	hsm, err := km.CreateSigner(context.Background(), "pkcs11:id=01;object=bench")
	if err != nil {
		b.Fatal(err)
	}
	soft, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	guarded := kms.NewGuard(kms.GuardOptions{Name: "pkcs11"}).Wrap(hsm)
	d := sha256.Sum256([]byte("tbs"))
	run := func(s crypto.Signer, verify bool) func(*testing.B) {
		return func(b *testing.B) {
			pub := s.Public().(*ecdsa.PublicKey)
			for b.Loop() {
				sig, err := s.Sign(rand.Reader, d[:], crypto.SHA256)
				if err != nil {
					b.Fatal(err)
				}
				if verify && !ecdsa.VerifyASN1(pub, d[:], sig) {
					b.Fatal("bad signature")
				}
			}
		}
	}
	b.Run("in-process", run(soft, false))
	b.Run("softhsm", run(hsm, false))
	b.Run("softhsm+guard", run(guarded, false))
	b.Run("softhsm+guard+verify", run(guarded, true))
}
