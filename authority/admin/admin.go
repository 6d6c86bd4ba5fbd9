// Package admin is remote administration (wire-spec §3 admin, §6.5): the
// admins and provisioners stored in the database, the storage port they need
// (Store, implemented by db/*), and the service the admin API calls to
// change them (Service). It imports no other authority package: the
// authority snapshot is built from what it returns (State).
package admin

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Type is an admin's role, numbered as linkedca's Admin_Type enum (the
// integer step-ca stores in the admins table).
type Type int

// The admin roles.
const (
	TypeUnknown Type = 0
	TypeAdmin   Type = 1
	TypeSuper   Type = 2
)

// String returns the name step's protojson uses ("SUPER_ADMIN", "ADMIN").
func (t Type) String() string {
	switch t {
	case TypeAdmin:
		return "ADMIN"
	case TypeSuper:
		return "SUPER_ADMIN"
	}
	return "UNKNOWN"
}

// ParseType reads "ADMIN" or "SUPER_ADMIN" (case-insensitive; step also
// sends the numbers 1 and 2).
func ParseType(s string) (Type, error) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "ADMIN", "1":
		return TypeAdmin, nil
	case "SUPER_ADMIN", "2":
		return TypeSuper, nil
	}
	return TypeUnknown, fmt.Errorf("admin type %q is not ADMIN or SUPER_ADMIN", s)
}

// Admin is one admin: who (a certificate subject or SAN) may administer the
// CA with certificates of which provisioner. JSON is step-ca's dbAdmin
// record of the admins table.
type Admin struct {
	ID            string    `json:"id"`
	AuthorityID   string    `json:"authorityID"`
	ProvisionerID string    `json:"provisionerID"`
	Subject       string    `json:"subject"`
	Type          Type      `json:"type"`
	CreatedAt     time.Time `json:"createdAt"`
	DeletedAt     time.Time `json:"deletedAt"`
}

// Provisioner is one provisioner stored in the database. Config is its
// ca.json entry (the same JSON the authority builds ca.json provisioners
// from); the record's other fields are step-ca's dbProvisioner columns.
type Provisioner struct {
	ID          string          `json:"id"`
	AuthorityID string          `json:"authorityID"`
	Type        string          `json:"type"`
	Name        string          `json:"name"`
	Config      json.RawMessage `json:"config"`
	CreatedAt   time.Time       `json:"createdAt"`
	DeletedAt   time.Time       `json:"deletedAt"`
}

// DefaultAuthorityID is the authorityID step-ca gives records of a CA that
// is not linked to a hosted authority.
const DefaultAuthorityID = "step-ca"

// MaxSubjectLen bounds an admin subject.
const MaxSubjectLen = 1024

// MaxProvisionerSize bounds one provisioner's stored configuration.
const MaxProvisionerSize = 256 << 10
