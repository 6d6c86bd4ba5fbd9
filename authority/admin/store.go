package admin

import (
	"context"
	"encoding/json"
	"errors"
)

// Records is everything the admin tables hold: deleted records included
// (step-ca deletes softly, setting deletedAt), in no particular order.
type Records struct {
	Admins       []*Admin
	Provisioners []*Provisioner
	// Policy is the authority policy (ca.json's authority.policy form),
	// nil when none is stored.
	Policy json.RawMessage
	// Version counts the changes ever saved (Store.Save); 0 for an empty
	// database.
	Version int64
}

// Change is what one SaveAdmin writes: records inserted or replaced by ID
// and, when SetPolicy, the authority policy (nil Policy deletes it).
type Change struct {
	Admins       []*Admin
	Provisioners []*Provisioner
	SetPolicy    bool
	Policy       json.RawMessage
}

// Empty reports whether c writes nothing.
func (c Change) Empty() bool {
	return len(c.Admins) == 0 && len(c.Provisioners) == 0 && !c.SetPolicy
}

// Store is the persistence port of remote administration, implemented by
// every db/* backend. Tables follow step-ca's layout (wire-spec §6.5):
// admins and provisioners keyed by ID with the records' JSON.
//
// Methods are safe for concurrent use and honour ctx while waiting.
// Durability: Save returns once its records are durable (committed).
// Errors name the backend; a store closed by Close fails every call.
type Store interface {
	// LoadAdmin returns every record and the version they are at, read
	// consistently (one transaction or snapshot).
	LoadAdmin(ctx context.Context) (*Records, error)
	// AdminVersion returns the current change version, cheaply: nodes
	// sharing a database poll it to learn of changes made elsewhere.
	AdminVersion(ctx context.Context) (int64, error)
	// SaveAdmin atomically writes c (records inserted or replaced by ID,
	// the policy set or deleted) and increments the version by one, if
	// and only if the version is still expect; else it writes nothing and
	// returns ErrConflict (wrapped). Two nodes changing the admin tables
	// at once cannot both succeed from the same version.
	SaveAdmin(ctx context.Context, expect int64, c Change) error
}

// ErrConflict is returned (wrapped) by SaveAdmin when the version moved on:
// another change was saved meanwhile.
var ErrConflict = errors.New("the admin tables were changed meanwhile")
