package sqlstore

import "fmt"

// VersionError is a schema this code cannot use (newer than it, older and
// read-only, or step-ca's own tables). It is returned as is, not as a
// backend failure.
type VersionError struct{ Msg string }

func (e VersionError) Error() string { return e.Msg }

// CheckVersion returns a VersionError when a database at schema version
// current cannot be used by code at version latest: a newer schema always,
// an older one when the store is read-only (it does not migrate).
func (d DB) CheckVersion(current, latest int, readOnly bool) error {
	switch {
	case current > latest:
		return VersionError{fmt.Sprintf("%s database %s has schema version %d, newer than this Mayfly's %d; upgrade Mayfly", d.Backend, d.Name, current, latest)}
	case readOnly && current < latest:
		return VersionError{fmt.Sprintf("%s database %s has schema version %d, this Mayfly needs %d; a read-only store does not migrate, open it read-write once (on the primary) first", d.Backend, d.Name, current, latest)}
	}
	return nil
}

// StepCALayout is the error for a database that holds step-ca's own
// x509_certs table (nkey/nvalue), which Mayfly cannot use in place.
func (d DB) StepCALayout() error {
	return VersionError{fmt.Sprintf("%s database %s holds step-ca's tables (x509_certs with nkey/nvalue); Mayfly cannot use a step-ca database in place, point db.database at a new database", d.Backend, d.Name)}
}
