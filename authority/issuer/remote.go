package issuer

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
)

// ErrNoSigningKey is the error of Sign on an issuer built by NewRemote.
var ErrNoSigningKey = errors.New("issuer: no signing key here: certificates are signed by the upstream CA")

// NewRemote returns an issuer that holds the chain of a CA that signs
// elsewhere (a registration authority's upstream, docs/ra.md): Chain and
// ChainPEM answer it; Sign and SignTemplate return ErrNoSigningKey and
// Signer returns nil.
func NewRemote(chain []*x509.Certificate) (*Issuer, error) {
	if len(chain) == 0 {
		return nil, errors.New("issuer: no intermediate certificate")
	}
	i := &Issuer{cert: chain[0], chain: chain}
	for _, c := range chain {
		i.chainPEM = append(i.chainPEM, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})))
	}
	return i, nil
}
