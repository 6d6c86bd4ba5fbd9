package main

import (
	"github.com/mayfly-pki/mayfly/authority/config"
	"github.com/mayfly-pki/mayfly/internal/meter"
	"github.com/mayfly-pki/mayfly/kms"
	"github.com/mayfly-pki/mayfly/kms/awskms"
	"github.com/mayfly-pki/mayfly/kms/azurekms"
	"github.com/mayfly-pki/mayfly/kms/cloudkms"
	"github.com/mayfly-pki/mayfly/kms/softkms"
)

// kmsRegistry lists the key managers this build serves; the cgo backends
// are added by kms_cgo.go unless built with -tags nopkcs11 or without cgo.
func kmsRegistry() kms.Registry {
	r := kms.Registry{"softkms": softkms.New, awskms.Type: awskms.New, cloudkms.Type: cloudkms.New, azurekms.Type: azurekms.New}
	addCgoKMS(r)
	addYubiKey(r)
	return r
}

// kmsOptions converts ca.json's kms block.
func kmsOptions(k *config.KMS) *kms.Options {
	if k == nil {
		return nil
	}
	return &kms.Options{Type: k.Type, URI: k.URI, CredentialsFile: k.CredentialsFile, Pin: k.Pin,
		ManagementKey: k.ManagementKey, Region: k.Region, Profile: k.Profile, StorageDirectory: k.StorageDirectory}
}

// newKeyLoader returns the loader for the CA's keys: files through readKey,
// URIs through the registry, every key manager call reported to m. SSH CA
// keys load the same way:
// loader.SignerWith(ctx, kmsOptions(cfg.KMS), cfg.SSH.HostKey, hostPassword).
func newKeyLoader(cfg *config.Config, m meter.KMS) *kms.Loader {
	return kms.NewLoader(kms.LoaderDeps{Registry: kmsRegistry(), KMS: kmsOptions(cfg.KMS), ReadFile: readKey,
		Guard: kms.GuardOptions{Meter: m}})
}
