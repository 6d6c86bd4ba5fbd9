//go:build cgo && !noyubikey

package kmsutil

import (
	"github.com/mayfly-pki/mayfly/kms"
	"github.com/mayfly-pki/mayfly/kms/yubikey"
)

func addYubiKey(r kms.Registry) { r[yubikey.Type] = yubikey.New }
