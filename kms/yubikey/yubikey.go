//go:build cgo && !noyubikey

// Package yubikey is the key manager for a YubiKey's PIV application,
// through piv-go (cgo, PC/SC: libpcsclite). The build tag noyubikey (or
// CGO_ENABLED=0) leaves it out.
//
// The kms URI: "yubikey:" or "yubikey:serial=<n>?pin-value=123456" (or
// pin-source), with management-key=<hex> (default piv-go's, which is the
// YubiKey's factory key) used only to create keys. Key names select a PIV
// slot by its hex id, as step: "yubikey:slot-id=9c"; 9a, 9c, 9d, 9e and the
// retired slots 82-95.
//
// It has been tested with piv-go's types and a card double only, never with
// a device.
package yubikey

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/go-piv/piv-go/v2/piv"

	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/kms"
)

// Type is the registry name.
const Type = "yubikey"

// Card is what the key manager needs of a YubiKey; *piv.YubiKey has it.
type Card interface {
	GenerateKey(managementKey []byte, slot piv.Slot, opts piv.Key) (crypto.PublicKey, error)
	Attest(slot piv.Slot) (*x509.Certificate, error)
	Certificate(slot piv.Slot) (*x509.Certificate, error)
	PrivateKey(slot piv.Slot, public crypto.PublicKey, auth piv.KeyAuth) (crypto.PrivateKey, error)
	Close() error
}

var _ Card = (*piv.YubiKey)(nil)

// KMS is one opened YubiKey. piv-go serialises card transactions; mu also
// keeps key creation from racing signatures.
type KMS struct {
	mu            sync.Mutex
	card          Card
	pin           string
	managementKey []byte
}

var _ kms.KeyManager = (*KMS)(nil)

// config is what the kms URI and options say.
type config struct {
	serial        string
	pin           string
	managementKey []byte
}

func parseConfig(o kms.Options) (config, error) {
	c := config{pin: o.Pin, managementKey: piv.DefaultManagementKey}
	mk := o.ManagementKey
	if o.URI != "" {
		u, err := kms.ParseURI(o.URI)
		if err != nil {
			return c, errs.E(errs.BadRequest, "yubikey: "+err.Error(), nil)
		}
		if u.Scheme != Type {
			return c, errs.E(errs.BadRequest, fmt.Sprintf("yubikey: the kms uri has scheme %q, want yubikey", u.Scheme), nil)
		}
		pin, err := u.Pin()
		if err != nil {
			return c, errs.E(errs.BadRequest, "yubikey: "+err.Error(), nil)
		}
		if pin != "" {
			c.pin = pin
		}
		if v := u.Get("management-key"); v != "" {
			mk = v
		}
		c.serial = u.Get("serial")
	}
	if mk != "" {
		b, err := hex.DecodeString(mk)
		if err != nil || (len(b) != 24 && len(b) != 16 && len(b) != 32) {
			return c, errs.E(errs.BadRequest, "yubikey: the management key must be 16, 24 or 32 bytes in hex", nil)
		}
		c.managementKey = b
	}
	return c, nil
}

// New is the kms.Opener for "yubikey": it opens the first YubiKey, or the
// one whose PC/SC reader name holds serial.
func New(_ context.Context, o kms.Options) (kms.KeyManager, error) {
	c, err := parseConfig(o)
	if err != nil {
		return nil, err
	}
	cards, err := piv.Cards()
	if err != nil {
		return nil, errs.E(errs.Unavailable, "yubikey: listing smart cards failed (is pcscd running?)", err)
	}
	for _, name := range cards {
		if !strings.Contains(strings.ToLower(name), "yubikey") {
			continue
		}
		yk, err := piv.Open(name)
		if err != nil {
			return nil, errs.E(errs.Unavailable, "yubikey: opening "+name, err)
		}
		if c.serial != "" {
			s, err := yk.Serial()
			if err != nil || strconv.FormatUint(uint64(s), 10) != c.serial {
				yk.Close()
				continue
			}
		}
		return NewWithCard(yk, o)
	}
	return nil, errs.E(errs.Unavailable, "yubikey: no YubiKey found", nil)
}

// NewWithCard is New for an already opened card.
func NewWithCard(card Card, o kms.Options) (*KMS, error) {
	c, err := parseConfig(o)
	if err != nil {
		return nil, err
	}
	return &KMS{card: card, pin: c.pin, managementKey: c.managementKey}, nil
}

// Slot maps a key name ("yubikey:slot-id=9c") to its PIV slot.
func Slot(name string) (piv.Slot, error) {
	u, err := kms.ParseURI(name)
	if err != nil {
		return piv.Slot{}, errs.E(errs.BadRequest, "yubikey: "+err.Error(), nil)
	}
	if u.Scheme != Type {
		return piv.Slot{}, errs.E(errs.BadRequest, fmt.Sprintf("yubikey: key %q is not a yubikey: URI", kms.Redact(name)), nil)
	}
	id := strings.ToLower(u.Get("slot-id"))
	switch id {
	case "9a":
		return piv.SlotAuthentication, nil
	case "9c":
		return piv.SlotSignature, nil
	case "9d":
		return piv.SlotKeyManagement, nil
	case "9e":
		return piv.SlotCardAuthentication, nil
	}
	if v, err := strconv.ParseUint(id, 16, 32); err == nil {
		if s, ok := piv.RetiredKeyManagementSlot(uint32(v)); ok {
			return s, nil
		}
	}
	return piv.Slot{}, errs.E(errs.BadRequest, fmt.Sprintf("yubikey: slot-id %q is not a PIV slot (9a, 9c, 9d, 9e, 82-95)", id), nil)
}

// GetPublicKey reads the slot's public key from its attestation, or from the
// certificate stored in the slot.
func (k *KMS) GetPublicKey(_ context.Context, name string) (crypto.PublicKey, error) {
	slot, err := Slot(name)
	if err != nil {
		return nil, err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.publicKey(slot)
}

func (k *KMS) publicKey(slot piv.Slot) (crypto.PublicKey, error) {
	if c, err := k.card.Attest(slot); err == nil {
		return c.PublicKey, nil
	}
	c, err := k.card.Certificate(slot)
	if err != nil {
		return nil, errs.E(errs.NotFound, fmt.Sprintf("yubikey: slot %s holds no key", slot), err)
	}
	return c.PublicKey, nil
}

// CreateSigner returns the card's signer for the slot, with the PIN.
func (k *KMS) CreateSigner(_ context.Context, name string) (crypto.Signer, error) {
	slot, err := Slot(name)
	if err != nil {
		return nil, err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	pub, err := k.publicKey(slot)
	if err != nil {
		return nil, err
	}
	priv, err := k.card.PrivateKey(slot, pub, piv.KeyAuth{PIN: k.pin})
	if err != nil {
		return nil, errs.E(errs.Unavailable, fmt.Sprintf("yubikey: slot %s", slot), err)
	}
	s, ok := priv.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("yubikey: slot %s does not sign", slot)
	}
	return s, nil
}

// CreateKey generates a key in an empty slot (PIN always, no touch).
func (k *KMS) CreateKey(_ context.Context, req kms.CreateKeyRequest) (*kms.CreateKeyResponse, error) {
	slot, err := Slot(req.Name)
	if err != nil {
		return nil, err
	}
	var alg piv.Algorithm
	switch req.Algorithm {
	case "", kms.ECDSAWithSHA256:
		alg = piv.AlgorithmEC256
	case kms.ECDSAWithSHA384:
		alg = piv.AlgorithmEC384
	case kms.SHA256WithRSA:
		alg = piv.AlgorithmRSA2048
		if req.Bits != 0 && req.Bits != 2048 {
			return nil, errs.E(errs.BadRequest, "yubikey: RSA keys are 2048 bits", nil)
		}
	case kms.PureEd25519:
		alg = piv.AlgorithmEd25519
	default:
		return nil, errs.E(errs.BadRequest, fmt.Sprintf("yubikey: key algorithm %q is not supported", req.Algorithm), nil)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, err := k.publicKey(slot); err == nil {
		return nil, errs.E(errs.Conflict, fmt.Sprintf("yubikey: slot %s already holds a key", slot), nil)
	}
	pub, err := k.card.GenerateKey(k.managementKey, slot, piv.Key{Algorithm: alg, PINPolicy: piv.PINPolicyAlways, TouchPolicy: piv.TouchPolicyNever})
	if err != nil {
		return nil, errs.E(errs.Unavailable, fmt.Sprintf("yubikey: generating a key in slot %s", slot), err)
	}
	return &kms.CreateKeyResponse{Name: req.Name, PublicKey: pub}, nil
}

// Close closes the card.
func (k *KMS) Close() error { return k.card.Close() }
