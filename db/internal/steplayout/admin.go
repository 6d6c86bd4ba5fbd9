package steplayout

import (
	"encoding/json"
	"fmt"

	"github.com/mayfly-pki/mayfly/authority/admin"
	"github.com/mayfly-pki/mayfly/internal/errs"
)

// The admin tables (wire-spec §6.5), created with enableAdmin by step-ca;
// Mayfly's backends create them at start. TableAdminVersion is Mayfly's:
// one record, the change version (admin.Store).
const (
	TableAdmins       = "admins"
	TableProvisioners = "provisioners"
	TableAdminVersion = "mayfly_admin_version"
	// TableAuthorityPolicies is step-ca's authority_policies table; Mayfly
	// keeps one record, key PolicyKey, the policy's JSON.
	TableAuthorityPolicies = "authority_policies"
	PolicyKey              = admin.DefaultAuthorityID
	// AdminVersionKey is the key of the version record.
	AdminVersionKey = "version"
)

// maxAdminRecord bounds one encoded record (a provisioner's configuration
// with its templates, roots and keys).
const maxAdminRecord = admin.MaxProvisionerSize + 4096

// AdminRecord is one encoded record and its key.
type AdminRecord struct {
	ID   string
	Data []byte
}

// EncodeAdminRecords encodes records as the admins and provisioners
// tables hold them (JSON), checking IDs (1..255 bytes) and sizes; errors
// are of kind errs.BadRequest.
func EncodeAdminRecords(c admin.Change) (as, ps []AdminRecord, err error) {
	admins, provs := c.Admins, c.Provisioners
	if c.SetPolicy && len(c.Policy) > maxAdminRecord {
		return nil, nil, errs.Errorf(errs.BadRequest, "policy is %d bytes long, the limit is %d", len(c.Policy), maxAdminRecord)
	}
	enc := func(id string, v any) (AdminRecord, error) {
		if id == "" || len(id) > 255 {
			return AdminRecord{}, errs.Errorf(errs.BadRequest, "invalid admin record id: %d bytes long", len(id))
		}
		b, err := json.Marshal(v)
		if err != nil {
			return AdminRecord{}, fmt.Errorf("encode admin record %s: %w", id, err)
		}
		if len(b) > maxAdminRecord {
			return AdminRecord{}, errs.Errorf(errs.BadRequest, "admin record %s is %d bytes long, the limit is %d", id, len(b), maxAdminRecord)
		}
		return AdminRecord{ID: id, Data: b}, nil
	}
	for _, a := range admins {
		r, err := enc(a.ID, a)
		if err != nil {
			return nil, nil, err
		}
		as = append(as, r)
	}
	for _, p := range provs {
		r, err := enc(p.ID, p)
		if err != nil {
			return nil, nil, err
		}
		ps = append(ps, r)
	}
	return as, ps, nil
}

// DecodeAdmin decodes an admins record.
func DecodeAdmin(b []byte) (*admin.Admin, error) {
	var a admin.Admin
	if err := json.Unmarshal(b, &a); err != nil {
		return nil, fmt.Errorf("table %s: decode record: %w", TableAdmins, err)
	}
	return &a, nil
}

// DecodeProvisioner decodes a provisioners record.
func DecodeProvisioner(b []byte) (*admin.Provisioner, error) {
	var p admin.Provisioner
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("table %s: decode record: %w", TableProvisioners, err)
	}
	return &p, nil
}
