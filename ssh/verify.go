package ssh

import (
	"errors"
	"fmt"
	"io"

	gossh "golang.org/x/crypto/ssh"

	"github.com/mayfly-pki/mayfly/internal/errs"
)

// verifyingSigner checks every signature of a CA key that lives outside this
// process (an HSM, a cloud KMS: kms.External) before it is used, as the X.509
// issuer does: a key manager that returns a wrong signature makes the request
// fail instead of handing out a certificate no client accepts.
type verifyingSigner struct {
	inner gossh.AlgorithmSigner
	algs  []string
	km    string // the key manager, for the error
}

var _ gossh.MultiAlgorithmSigner = (*verifyingSigner)(nil)

func newVerifyingSigner(s gossh.Signer, keyManager string) (gossh.Signer, error) {
	as, ok := s.(gossh.AlgorithmSigner)
	if !ok {
		return nil, errors.New("ssh: key manager signer without algorithm support")
	}
	v := &verifyingSigner{inner: as, km: keyManager, algs: []string{s.PublicKey().Type()}}
	if ms, ok := s.(gossh.MultiAlgorithmSigner); ok {
		v.algs = ms.Algorithms()
	}
	return v, nil
}

func (v *verifyingSigner) PublicKey() gossh.PublicKey { return v.inner.PublicKey() }
func (v *verifyingSigner) Algorithms() []string       { return v.algs }

func (v *verifyingSigner) Sign(rand io.Reader, data []byte) (*gossh.Signature, error) {
	return v.SignWithAlgorithm(rand, data, "")
}

func (v *verifyingSigner) SignWithAlgorithm(rand io.Reader, data []byte, algorithm string) (*gossh.Signature, error) {
	sig, err := v.inner.SignWithAlgorithm(rand, data, algorithm)
	if err != nil {
		return nil, err
	}
	if err := v.inner.PublicKey().Verify(data, sig); err != nil {
		return nil, errs.E(errs.Internal, fmt.Sprintf("key manager %s returned an SSH signature that does not verify", v.km), err)
	}
	return sig, nil
}
