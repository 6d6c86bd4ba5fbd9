// Package kmsutil opens the key managers the step CLI's --kms and --ca-kms
// flags name, with the backends this build includes.
package kmsutil

import (
	"context"
	"crypto"
	"fmt"

	"github.com/mayfly-pki/mayfly/kms"
	"github.com/mayfly-pki/mayfly/kms/awskms"
	"github.com/mayfly-pki/mayfly/kms/azurekms"
	"github.com/mayfly-pki/mayfly/kms/cloudkms"
	"github.com/mayfly-pki/mayfly/kms/softkms"
)

// Registry lists the key managers of this build.
func Registry() kms.Registry {
	r := kms.Registry{"softkms": softkms.New, awskms.Type: awskms.New, cloudkms.Type: cloudkms.New, azurekms.Type: azurekms.New}
	addCgo(r)
	addYubiKey(r)
	return r
}

// Keys opens key managers for one command. Close it when done.
type Keys struct {
	loader *kms.Loader
}

// New returns a Keys; nothing is opened until a key is asked for.
func New() *Keys {
	return &Keys{loader: kms.NewLoader(kms.LoaderDeps{Registry: Registry(), ReadFile: readFile})}
}

// readFile reads an unencrypted key file named with a --kms flag (an
// encrypted key is read with --key/--ca-key and --password-file instead).
func readFile(path string, password []byte) (crypto.Signer, error) {
	km, err := softkms.New(context.Background(), kms.Options{Pin: string(password)})
	if err != nil {
		return nil, err
	}
	return km.CreateSigner(context.Background(), path)
}

// Signer returns the signer of key in the key manager kmsURI names (the
// value of --kms or --ca-kms). flag names the key flag in errors.
func (k *Keys) Signer(ctx context.Context, kmsURI, key, flag string) (crypto.Signer, error) {
	if key == "" {
		return nil, fmt.Errorf("flag '--kms' requires the '--%s' flag", flag)
	}
	o := Options(kmsURI)
	s, err := k.loader.SignerWith(ctx, &o, key, nil)
	if err != nil {
		return nil, fmt.Errorf("--%s %s: %w", flag, kms.Redact(key), err)
	}
	return s, nil
}

// Open opens the key manager kmsURI names directly (for step kms).
func Open(ctx context.Context, kmsURI string) (kms.KeyManager, error) {
	return Registry().Open(ctx, Options(kmsURI))
}

// Options turns a --kms value into options: a URI selects its backend by
// scheme; empty is softkms.
func Options(kmsURI string) kms.Options {
	return kms.Options{Type: kms.Scheme(kmsURI), URI: kmsURI}
}

// Close closes what was opened.
func (k *Keys) Close() error { return k.loader.Close() }
