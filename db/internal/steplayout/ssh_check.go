package steplayout

import (
	"bytes"
	"fmt"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/internal/errs"
)

// CheckedSSHRecords is what a key/value backend (Badger, bbolt) writes for
// c: its SSHCertificateRecords once c passed the backend's bounds (checkKey
// on the serial and each principal, checkValue on the certificate), with
// values copied so the caller's c may change after the call.
func CheckedSSHRecords(c *store.SSHCertificate, checkKey func(what, key string) error, checkValue func(what string, n int) error) ([]SSHRecord, error) {
	if c == nil || len(c.Wire) == 0 {
		return nil, errs.Errorf(errs.BadRequest, "store ssh certificate: no certificate")
	}
	if err := checkKey("serial", c.Serial); err != nil {
		return nil, err
	}
	if err := checkValue("ssh certificate", len(c.Wire)); err != nil {
		return nil, err
	}
	recs, err := SSHCertificateRecords(c)
	if err != nil {
		return nil, fmt.Errorf("store ssh certificate %s: %w", c.Serial, err)
	}
	for i := range recs {
		if err := checkKey("principal", recs[i].Key); err != nil {
			return nil, err
		}
		recs[i].Value = bytes.Clone(recs[i].Value)
	}
	return recs, nil
}
