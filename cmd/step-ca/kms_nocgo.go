//go:build !cgo || nopkcs11

package main

import "github.com/mayfly-pki/mayfly/kms"

// addCgoKMS adds nothing: this build has no cgo key managers.
func addCgoKMS(kms.Registry) {}
