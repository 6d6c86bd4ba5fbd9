package authority_test

import (
	"crypto"

	jose "github.com/go-jose/go-jose/v4"

	mjose "github.com/mayfly-pki/mayfly/internal/jose"
)

func mjoseSigner(k crypto.Signer) (*jose.JSONWebKey, error) { return mjose.NewSigningJWK(k) }
