package crypto

import (
	"crypto"
	"os"

	stepjose "github.com/mayfly-pki/mayfly/internal/jose"
)

func osMode(perm uint32) os.FileMode { return os.FileMode(perm) }

// algFor returns the default JWS algorithm for a private or public key.
func algFor(key any) (string, error) {
	if s, ok := key.(crypto.Signer); ok {
		key = s.Public()
	}
	alg, err := stepjose.SigningAlgorithm(key)
	if err != nil {
		return "", err
	}
	return string(alg), nil
}
