//go:build cgo && !noyubikey

package yubikey

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-piv/piv-go/v2/piv"

	"github.com/mayfly-pki/mayfly/kms"
	"github.com/mayfly-pki/mayfly/kms/kmstest"
)

// fakeCard is a card double holding real keys per slot: it checks the
// management key and the PIN as the card would, and attests keys with a
// certificate of its own.
type fakeCard struct {
	mu       sync.Mutex
	keys     map[piv.Slot]crypto.Signer
	attestor *ecdsa.PrivateKey
	pinCalls int
}

func newFakeCard() *fakeCard {
	a, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	return &fakeCard{keys: map[piv.Slot]crypto.Signer{}, attestor: a}
}

func (f *fakeCard) GenerateKey(mk []byte, slot piv.Slot, opts piv.Key) (crypto.PublicKey, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !bytes.Equal(mk, piv.DefaultManagementKey) {
		return nil, errors.New("smart card error 6982: security status not satisfied")
	}
	var k crypto.Signer
	var err error
	switch opts.Algorithm {
	case piv.AlgorithmEC256:
		k, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case piv.AlgorithmEC384:
		k, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case piv.AlgorithmRSA2048:
		k, err = rsa.GenerateKey(rand.Reader, 2048)
	case piv.AlgorithmEd25519:
		_, k, err = ed25519.GenerateKey(rand.Reader)
	default:
		return nil, fmt.Errorf("algorithm %v", opts.Algorithm)
	}
	if err != nil {
		return nil, err
	}
	if opts.PINPolicy != piv.PINPolicyAlways {
		return nil, errors.New("test expects PIN policy always")
	}
	f.keys[slot] = k
	return k.Public(), nil
}

func (f *fakeCard) Attest(slot piv.Slot) (*x509.Certificate, error) {
	f.mu.Lock()
	k, ok := f.keys[slot]
	f.mu.Unlock()
	if !ok {
		return nil, errors.New("smart card error 6a80: incorrect parameter")
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "YubiKey PIV Attestation " + slot.String()},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public(), f.attestor)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

func (f *fakeCard) Certificate(piv.Slot) (*x509.Certificate, error) {
	return nil, errors.New("not found")
}

func (f *fakeCard) PrivateKey(slot piv.Slot, pub crypto.PublicKey, auth piv.KeyAuth) (crypto.PrivateKey, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pinCalls++
	if auth.PIN != "123456" {
		return nil, errors.New("pin verification failed")
	}
	k, ok := f.keys[slot]
	if !ok || !k.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(pub) {
		return nil, errors.New("no such key")
	}
	return k, nil
}

func (f *fakeCard) Close() error { return nil }

func TestCardDouble(t *testing.T) {
	t.Parallel()
	km, err := NewWithCard(newFakeCard(), kms.Options{URI: "yubikey:management-key=010203040506070801020304050607080102030405060708?pin-value=123456"})
	if err != nil {
		t.Fatal(err)
	}
	slots := []string{"82", "83", "84", "85", "9c"}
	var mu sync.Mutex
	kmstest.Run(t, kmstest.Suite{
		KM: km,
		NewName: func(t *testing.T) string {
			mu.Lock()
			defer mu.Unlock()
			s := slots[0]
			slots = slots[1:]
			return "yubikey:slot-id=" + s
		},
		Missing:    "yubikey:slot-id=9e",
		Algorithms: []kms.SignatureAlgorithm{kms.ECDSAWithSHA256, kms.ECDSAWithSHA384, kms.SHA256WithRSA, kms.PureEd25519},
	})
	t.Run("wrong PIN", func(t *testing.T) {
		bad, _ := NewWithCard(km.card, kms.Options{URI: "yubikey:pin-value=000000"})
		if _, err := bad.CreateSigner(t.Context(), "yubikey:slot-id=82"); err == nil || strings.Contains(err.Error(), "000000") {
			t.Fatalf("wrong PIN: %v", err)
		}
	})
	t.Run("wrong management key", func(t *testing.T) {
		bad, _ := NewWithCard(km.card, kms.Options{URI: "yubikey:management-key=" + strings.Repeat("00", 24)})
		if _, err := bad.CreateKey(t.Context(), kms.CreateKeyRequest{Name: "yubikey:slot-id=95"}); err == nil {
			t.Fatal("a wrong management key created a key")
		}
	})
}

func TestSlot(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]piv.Slot{
		"yubikey:slot-id=9a": piv.SlotAuthentication, "yubikey:slot-id=9C": piv.SlotSignature,
		"yubikey:slot-id=9d": piv.SlotKeyManagement, "yubikey:slot-id=9e": piv.SlotCardAuthentication,
		"yubikey:slot-id=82": {Key: 0x82, Object: 0x5fc10d}, "yubikey:slot-id=95": {Key: 0x95, Object: 0x5fc120},
	} {
		got, err := Slot(in)
		if err != nil || got != want {
			t.Errorf("Slot(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"yubikey:slot-id=96", "yubikey:slot-id=", "yubikey:slot-id=zz", "pkcs11:id=1"} {
		if _, err := Slot(bad); err == nil {
			t.Errorf("Slot(%q) accepted", bad)
		}
	}
	for _, bad := range []string{"yubikey:management-key=zz", "yubikey:management-key=0102", "pkcs11:x"} {
		if _, err := parseConfig(kms.Options{URI: bad}); err == nil {
			t.Errorf("parseConfig(%q) accepted", bad)
		}
	}
}
