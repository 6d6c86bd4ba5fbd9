package pki

import (
	"encoding/json"
	"fmt"

	jose "github.com/go-jose/go-jose/v4"

	mjose "github.com/mayfly-pki/mayfly/internal/jose"
	"github.com/mayfly-pki/mayfly/internal/keyutil"
)

// JWKProvisioner is the ca.json entry of a JWK provisioner as `step ca init`
// writes it: the fields in this order, the public key with use/kty/kid/crv/alg/x/y,
// and encryptedKey the compact JWE of the private JWK (wire-spec §1.3, §1.6).
type JWKProvisioner struct {
	Type         string           `json:"type"`
	Name         string           `json:"name"`
	Key          *jose.JSONWebKey `json:"key"`
	EncryptedKey string           `json:"encryptedKey,omitempty"`
	Claims       map[string]any   `json:"claims,omitempty"`
}

// NewJWKProvisioner generates a new EC P-256 key and returns the provisioner
// entry named name, whose encryptedKey is the private JWK encrypted with
// password (PBES2-HS256+A128KW, 600000 iterations: this takes a noticeable
// fraction of a second). kid is the RFC 7638 thumbprint of the public key.
func NewJWKProvisioner(name string, password []byte) (*JWKProvisioner, error) {
	if len(password) == 0 {
		return nil, fmt.Errorf("provisioner %q: a password is required to encrypt its key", name)
	}
	key, err := keyutil.Generate("EC", "P-256", 0)
	if err != nil {
		return nil, fmt.Errorf("provisioner %q: generating its key: %w", name, err)
	}
	priv, err := mjose.NewSigningJWK(key)
	if err != nil {
		return nil, fmt.Errorf("provisioner %q: %w", name, err)
	}
	encrypted, err := mjose.EncryptJWK(priv, password)
	if err != nil {
		return nil, fmt.Errorf("provisioner %q: encrypting its key: %w", name, err)
	}
	pub := priv.Public()
	return &JWKProvisioner{Type: "JWK", Name: name, Key: &pub, EncryptedKey: encrypted}, nil
}

// raw returns the entry as the JSON object ca.json holds.
func (p *JWKProvisioner) raw() (json.RawMessage, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("provisioner %q: encoding: %w", p.Name, err)
	}
	return b, nil
}
