//go:build !cgo || nopkcs11

package kmsutil

import "github.com/mayfly-pki/mayfly/kms"

func addCgo(kms.Registry) {}
