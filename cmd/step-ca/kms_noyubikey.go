//go:build !cgo || noyubikey

package main

import "github.com/mayfly-pki/mayfly/kms"

// addYubiKey adds nothing: this build has no PC/SC.
func addYubiKey(kms.Registry) {}
