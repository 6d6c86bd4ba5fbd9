//go:build !cgo || noyubikey

package kmsutil

import "github.com/mayfly-pki/mayfly/kms"

// addYubiKey adds nothing: this build has no PC/SC.
func addYubiKey(kms.Registry) {}
