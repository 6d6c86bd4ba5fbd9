package pki

import (
	"context"
	"crypto"
	"fmt"

	"github.com/mayfly-pki/mayfly/authority/config"
	"github.com/mayfly-pki/mayfly/kms"
)

// KMSKeys puts the root and intermediate keys in a key manager instead of
// files (step ca init --kms): the keys are created there, no key file is
// written, and ca.json gets the intermediate's key URI and the kms block.
// Keys created in the key manager are not removed when Init fails later.
type KMSKeys struct {
	// Manager is the opened key manager; the caller closes it.
	Manager kms.KeyManager
	// Block is ca.json's "kms" block (type and uri).
	Block config.KMS
	// Root and Intermediate are the names of the keys to create
	// ("pkcs11:id=7330;object=root-ca").
	Root, Intermediate string
}

// createKMSKey creates a CA key in the key manager and returns its signer.
func (o Options) createKMSKey(ctx context.Context, name, which string) (crypto.Signer, error) {
	kty, crv, size := o.keyParams()
	alg, err := kms.AlgorithmFor(kty, crv)
	if err != nil {
		return nil, fmt.Errorf("the %s key: %w", which, err)
	}
	if _, err := o.KMS.Manager.CreateKey(ctx, kms.CreateKeyRequest{Name: name, Algorithm: alg, Bits: size}); err != nil {
		return nil, fmt.Errorf("creating the %s key %s: %w", which, kms.Redact(name), err)
	}
	s, err := o.KMS.Manager.CreateSigner(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("the %s key %s: %w", which, kms.Redact(name), err)
	}
	return s, nil
}
