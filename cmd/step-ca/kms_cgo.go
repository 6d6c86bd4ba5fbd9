//go:build cgo && !nopkcs11

package main

import (
	"github.com/mayfly-pki/mayfly/kms"
	"github.com/mayfly-pki/mayfly/kms/pkcs11"
)

func addCgoKMS(r kms.Registry) {
	r[pkcs11.Type] = pkcs11.New
}
