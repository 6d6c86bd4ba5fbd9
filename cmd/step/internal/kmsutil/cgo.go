//go:build cgo && !nopkcs11

package kmsutil

import (
	"github.com/mayfly-pki/mayfly/kms"
	"github.com/mayfly-pki/mayfly/kms/pkcs11"
)

func addCgo(r kms.Registry) { r[pkcs11.Type] = pkcs11.New }
