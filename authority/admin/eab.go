package admin

import (
	"context"
	"errors"
	"time"
)

// EABKey is an ACME external account binding key (RFC 8555 §7.3.4), as
// step-ca's acme_external_account_keys records (wire-spec §6.4).
type EABKey struct {
	ID            string    `json:"id"`
	ProvisionerID string    `json:"provisionerID"`
	Reference     string    `json:"reference"`
	AccountID     string    `json:"accountID"`
	HMACKey       []byte    `json:"key"`
	CreatedAt     time.Time `json:"createdAt"`
	BoundAt       time.Time `json:"boundAt"`
}

// ErrReferenceExists is returned (wrapped) by CreateExternalAccountKey
// when the provisioner already has a key with the reference.
var ErrReferenceExists = errors.New("an EAB key with this reference exists")

// EABStore is the storage the admin API's /admin/acme/eab routes need. It
// belongs with the ACME storage (which binds the keys to accounts); a
// store that does not implement it leaves the routes unmounted.
//
// Methods are safe for concurrent use; writes return once durable.
type EABStore interface {
	// CreateExternalAccountKey stores k unless its provisioner has a key
	// with the same non-empty reference (ErrReferenceExists).
	CreateExternalAccountKey(ctx context.Context, k *EABKey) error
	// ListExternalAccountKeys returns the provisioner's keys, only the one
	// with reference when it is not empty, oldest first.
	ListExternalAccountKeys(ctx context.Context, provisionerID, reference string) ([]*EABKey, error)
	// DeleteExternalAccountKey deletes the provisioner's key id
	// (store.ErrNotFound, wrapped, when there is none).
	DeleteExternalAccountKey(ctx context.Context, provisionerID, id string) error
}
