//go:build cgo && !nopkcs11

// Package pkcs11 is the key manager for PKCS#11 modules (HSMs, SoftHSM2,
// YubiHSM2, TPM2 via libtpm2_pkcs11), through crypto11. The build tag
// nopkcs11 (or CGO_ENABLED=0) leaves it out.
//
// The kms URI opens the token:
//
//	pkcs11:module-path=/usr/lib/softhsm/libsofthsm2.so;token=ca?pin-value=1234
//
// with exactly one of token (label), serial or slot-id, and pin-value or
// pin-source (a file whose first line is the PIN); max-sessions is optional.
// Key names select a key pair by id (hex, "7331" is two bytes) and/or
// object (label): "pkcs11:id=7331;object=root-ca".
package pkcs11

import (
	"context"
	"crypto"
	"crypto/elliptic"
	"fmt"
	"strconv"
	"time"

	"github.com/ThalesIgnite/crypto11"

	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/kms"
)

// Type is the registry name.
const Type = "pkcs11"

// KMS is one logged-in token. Safe for concurrent use (crypto11 keeps a
// session pool).
type KMS struct {
	ctx *crypto11.Context
}

var _ kms.KeyManager = (*KMS)(nil)

// Config returns the crypto11 configuration for a kms URI (exported for
// tests of the URI mapping). The PIN is never put in an error.
func Config(o kms.Options) (*crypto11.Config, error) {
	raw := o.URI
	if raw == "" {
		return nil, errs.E(errs.BadRequest, "pkcs11: the kms uri is required (pkcs11:module-path=...;token=...)", nil)
	}
	u, err := kms.ParseURI(raw)
	if err != nil {
		return nil, errs.E(errs.BadRequest, "pkcs11: "+err.Error(), nil)
	}
	if u.Scheme != Type {
		return nil, errs.E(errs.BadRequest, fmt.Sprintf("pkcs11: the kms uri has scheme %q, want pkcs11", u.Scheme), nil)
	}
	c := &crypto11.Config{
		Path:            u.Get("module-path"),
		TokenLabel:      u.Get("token"),
		TokenSerial:     u.Get("serial"),
		PoolWaitTimeout: 10 * time.Second,
	}
	if c.Path == "" {
		return nil, errs.E(errs.BadRequest, "pkcs11: the kms uri has no module-path", nil)
	}
	n := 0
	for _, s := range []string{c.TokenLabel, c.TokenSerial, u.Get("slot-id")} {
		if s != "" {
			n++
		}
	}
	if n != 1 {
		return nil, errs.E(errs.BadRequest, "pkcs11: the kms uri needs exactly one of token, serial or slot-id", nil)
	}
	if s := u.Get("slot-id"); s != "" {
		id, err := strconv.Atoi(s)
		if err != nil || id < 0 {
			return nil, errs.E(errs.BadRequest, fmt.Sprintf("pkcs11: slot-id %q is not a number", s), nil)
		}
		c.SlotNumber = &id
	}
	if s := u.Get("max-sessions"); s != "" {
		m, err := strconv.Atoi(s)
		if err != nil || m < 2 {
			return nil, errs.E(errs.BadRequest, fmt.Sprintf("pkcs11: max-sessions %q must be a number of at least 2", s), nil)
		}
		c.MaxSessions = m
	}
	pin, err := u.Pin()
	if err != nil {
		return nil, errs.E(errs.BadRequest, "pkcs11: "+err.Error(), nil)
	}
	if pin == "" {
		pin = o.Pin
	}
	if pin == "" {
		return nil, errs.E(errs.BadRequest, "pkcs11: the kms uri has no pin-value or pin-source", nil)
	}
	c.Pin = pin
	return c, nil
}

// New is the kms.Opener for "pkcs11": it loads the module and logs in.
func New(_ context.Context, o kms.Options) (kms.KeyManager, error) {
	c, err := Config(o)
	if err != nil {
		return nil, err
	}
	ctx, err := crypto11.Configure(c)
	if err != nil {
		return nil, errs.E(errs.Unavailable, fmt.Sprintf("pkcs11: cannot open the token of %s", c.Path), err)
	}
	return &KMS{ctx: ctx}, nil
}

// keyID returns the id and label a key name selects.
func keyID(name string) (id, label []byte, err error) {
	u, err := kms.ParseURI(name)
	if err != nil {
		return nil, nil, errs.E(errs.BadRequest, "pkcs11: "+err.Error(), nil)
	}
	if u.Scheme != Type {
		return nil, nil, errs.E(errs.BadRequest, fmt.Sprintf("pkcs11: key %q is not a pkcs11: URI", kms.Redact(name)), nil)
	}
	id = u.GetEncoded("id")
	if o := u.Get("object"); o != "" {
		label = []byte(o)
	}
	if id == nil && label == nil {
		return nil, nil, errs.E(errs.BadRequest, fmt.Sprintf("pkcs11: key %q has neither id nor object", kms.Redact(name)), nil)
	}
	return id, label, nil
}

func (k *KMS) find(name string) (crypto11.Signer, error) {
	id, label, err := keyID(name)
	if err != nil {
		return nil, err
	}
	s, err := k.ctx.FindKeyPair(id, label)
	if err != nil {
		return nil, errs.E(errs.Unavailable, "pkcs11: finding the key failed", err)
	}
	if s == nil {
		return nil, errs.E(errs.NotFound, fmt.Sprintf("pkcs11: key %q not found", kms.Redact(name)), nil)
	}
	return s, nil
}

// GetPublicKey returns the key pair's public key.
func (k *KMS) GetPublicKey(_ context.Context, name string) (crypto.PublicKey, error) {
	s, err := k.find(name)
	if err != nil {
		return nil, err
	}
	return s.Public(), nil
}

// CreateSigner returns the token's signer for the key pair.
func (k *KMS) CreateSigner(_ context.Context, name string) (crypto.Signer, error) {
	return k.find(name)
}

// CreateKey generates a key pair on the token with the name's id and label.
// Both are required, as step's kms plugin requires them.
func (k *KMS) CreateKey(_ context.Context, req kms.CreateKeyRequest) (*kms.CreateKeyResponse, error) {
	id, label, err := keyID(req.Name)
	if err != nil {
		return nil, err
	}
	if id == nil || label == nil {
		return nil, errs.E(errs.BadRequest, "pkcs11: a new key needs both id and object (pkcs11:id=7331;object=root-ca)", nil)
	}
	if s, err := k.ctx.FindKeyPair(id, nil); err == nil && s != nil {
		return nil, errs.E(errs.Conflict, fmt.Sprintf("pkcs11: a key with id %x already exists", id), nil)
	}
	var s crypto11.Signer
	switch req.Algorithm {
	case "", kms.ECDSAWithSHA256:
		s, err = k.ctx.GenerateECDSAKeyPairWithLabel(id, label, elliptic.P256())
	case kms.ECDSAWithSHA384:
		s, err = k.ctx.GenerateECDSAKeyPairWithLabel(id, label, elliptic.P384())
	case kms.ECDSAWithSHA512:
		s, err = k.ctx.GenerateECDSAKeyPairWithLabel(id, label, elliptic.P521())
	case kms.SHA256WithRSA:
		bits := req.Bits
		if bits == 0 {
			bits = 3072
		}
		s, err = k.ctx.GenerateRSAKeyPairWithLabel(id, label, bits)
	default:
		return nil, errs.E(errs.BadRequest, fmt.Sprintf("pkcs11: key algorithm %q is not supported (EC P-256/P-384/P-521, RSA)", req.Algorithm), nil)
	}
	if err != nil {
		return nil, errs.E(errs.Unavailable, "pkcs11: generating the key failed", err)
	}
	return &kms.CreateKeyResponse{Name: req.Name, PublicKey: s.Public()}, nil
}

// Close logs out and unloads the module.
func (k *KMS) Close() error { return k.ctx.Close() }
