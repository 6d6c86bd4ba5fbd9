package ssh

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"io"
	"strings"
	"testing"

	gossh "golang.org/x/crypto/ssh"
)

// external is a key manager's signer (kms.External) that can corrupt its
// signatures, as a faulty HSM would.
type external struct {
	crypto.Signer
	corrupt bool
}

func (e *external) KeyManager() string { return "pkcs11" }

func (e *external) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	sig, err := e.Signer.Sign(r, digest, opts)
	if err == nil && e.corrupt {
		sig[len(sig)/2] ^= 0xff
	}
	return sig, err
}

func TestExternalSignaturesAreVerified(t *testing.T) {
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	user, err := gossh.NewPublicKey(&ec.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []crypto.Signer{ec, rk} {
		for _, corrupt := range []bool{false, true} {
			ca, err := NewSigner(&external{Signer: key, corrupt: corrupt})
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := ca.(*verifyingSigner); !ok {
				t.Fatalf("NewSigner of a key manager's key = %T, want a verifying signer", ca)
			}
			c := &gossh.Certificate{Key: user, CertType: gossh.UserCert, ValidPrincipals: []string{"alice"}, ValidBefore: gossh.CertTimeInfinity}
			err = Sign(c, ca)
			switch {
			case corrupt && (err == nil || !strings.Contains(err.Error(), "error signing ssh certificate")):
				t.Fatalf("%T corrupt signature: err = %v, want a refusal", key, err)
			case !corrupt && err != nil:
				t.Fatalf("%T: %v", key, err)
			case !corrupt:
				if err := (&gossh.CertChecker{}).CheckCert("alice", c); err != nil {
					t.Fatalf("%T: the certificate does not verify: %v", key, err)
				}
				if key == crypto.Signer(rk) && c.Signature.Format != gossh.KeyAlgoRSASHA512 {
					t.Fatalf("RSA CA signed with %s, want %s", c.Signature.Format, gossh.KeyAlgoRSASHA512)
				}
			}
		}
	}
	// A key in this process is not wrapped: no verification cost.
	ca, err := NewSigner(ec)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := ca.(*verifyingSigner); ok {
		t.Fatal("an in-process key got the verifying signer")
	}
}
