package kms

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"testing"
)

// memKM is a key manager over in-memory keys, counting opens.
type memKM struct {
	keys map[string]crypto.Signer
}

func (m *memKM) GetPublicKey(_ context.Context, n string) (crypto.PublicKey, error) {
	if k, ok := m.keys[n]; ok {
		return k.Public(), nil
	}
	return nil, errors.New("no key")
}
func (m *memKM) CreateSigner(_ context.Context, n string) (crypto.Signer, error) {
	if k, ok := m.keys[n]; ok {
		return k, nil
	}
	return nil, errors.New("no key")
}
func (m *memKM) CreateKey(context.Context, CreateKeyRequest) (*CreateKeyResponse, error) {
	return nil, errors.New("read-only")
}
func (m *memKM) Close() error { return nil }

func TestLoader(t *testing.T) {
	t.Parallel()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	opens := map[string]int{}
	var seen []Options
	reg := Registry{}
	for _, typ := range []string{"pkcs11", "cloudkms"} {
		reg[typ] = func(_ context.Context, o Options) (KeyManager, error) {
			opens[typ]++
			seen = append(seen, o)
			return &memKM{keys: map[string]crypto.Signer{
				"pkcs11:id=01": k,
				"projects/p/locations/l/keyRings/r/cryptoKeys/c/cryptoKeyVersions/1": k,
			}}, nil
		}
	}
	var fileReads []string
	l := NewLoader(LoaderDeps{Registry: reg, KMS: &Options{Type: "pkcs11", URI: "pkcs11:module-path=/m.so;token=t?pin-value=1"},
		ReadFile: func(p string, _ []byte) (crypto.Signer, error) { fileReads = append(fileReads, p); return k, nil }})
	ctx := context.Background()

	s, err := l.Signer(ctx, "pkcs11:id=01", nil)
	if err != nil {
		t.Fatal(err)
	}
	if ext, ok := s.(External); !ok || ext.KeyManager() != "pkcs11" {
		t.Fatalf("a pkcs11 signer is not External pkcs11: %T", s)
	}
	if _, err := l.Signer(ctx, "pkcs11:id=01", nil); err != nil {
		t.Fatal(err)
	}
	if opens["pkcs11"] != 1 || seen[0].URI == "" {
		t.Fatalf("pkcs11 opened %d times with %+v, want once with the kms block", opens["pkcs11"], seen)
	}
	// A file path and a softkms URI go to ReadFile, unwrapped.
	for _, key := range []string{"/etc/ca/key.pem", "softkms:path=/etc/ca/other.pem"} {
		s, err := l.Signer(ctx, key, []byte("pw"))
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := s.(External); ok {
			t.Fatalf("%s: a file key is External", key)
		}
	}
	if len(fileReads) != 2 || fileReads[1] != "/etc/ca/other.pem" {
		t.Fatalf("file reads %v", fileReads)
	}
	// A bare Cloud KMS name under a cloudkms block goes to cloudkms.
	block := &Options{Type: "cloudkms", URI: "cloudkms:credentials-file=/c.json"}
	if _, err := l.SignerWith(ctx, block, "projects/p/locations/l/keyRings/r/cryptoKeys/c/cryptoKeyVersions/1", nil); err != nil {
		t.Fatal(err)
	}
	if opens["cloudkms"] != 1 {
		t.Fatalf("cloudkms opened %d times", opens["cloudkms"])
	}
	// An unknown backend names what the build supports.
	if _, err := l.Signer(ctx, "tpmkms:name=x", nil); err == nil {
		t.Fatal("tpmkms accepted")
	}
	for key, want := range map[string]bool{"pkcs11:id=01": true, "/k.pem": false, "softkms:path=/k": false,
		"projects/p/locations/l/keyRings/r/cryptoKeys/c/cryptoKeyVersions/1": true} {
		if got := InKeyManager(block, key); got != want {
			t.Errorf("InKeyManager(cloudkms block, %q) = %v", key, got)
		}
	}
	if InKeyManager(nil, "projects/p/x") {
		t.Error("a bare projects/ path without a cloudkms block is a file")
	}
	if err := l.Health(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
}
