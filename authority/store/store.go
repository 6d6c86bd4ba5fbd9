// Package store declares the storage port the authority needs. Backends live
// in db/*; only cmd/* and tests import them. The logical tables follow
// step-ca's (wire-spec §6) so that existing step-ca data can be imported.
package store

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound is returned (wrapped) by lookups of records that do not exist.
var ErrNotFound = errors.New("not found")

// ErrTokenUsed is returned by UseToken when the key was already recorded.
var ErrTokenUsed = errors.New("token already used")

// ErrAlreadyRevoked is returned by Revoke when the serial is already revoked.
var ErrAlreadyRevoked = errors.New("certificate already revoked")

// Certificate is one issued X.509 certificate.
type Certificate struct {
	Serial string // decimal
	DER    []byte // leaf DER (x509_certs)
	// Data is the x509_certs_data JSON, e.g. {"provisioner":{"id":..,"name":..,"type":..}}.
	Data []byte
	// Index fields for listing and expiry queries (derivable from DER, stored
	// alongside so backends can index them without parsing).
	NotAfter    time.Time
	Subject     string // subject common name
	Provisioner string // provisioner name
}

// Revocation is one revoked X.509 certificate. The JSON encoding uses Go field
// names, as step-ca stores it in revoked_x509_certs.
type Revocation struct {
	Serial        string
	ProvisionerID string
	ReasonCode    int
	Reason        string
	RevokedAt     time.Time
	ExpiresAt     time.Time // certificate NotAfter, zero when unknown
	TokenID       string
	MTLS          bool
	ACME          bool
}

// Store is the persistence port of the X.509 authority.
//
// All methods are safe for concurrent use and honour ctx cancellation while
// waiting (a write already handed to the backend may still complete).
// Durability: every write method returns only after the data is durable
// (fsync'd or committed); concurrent writes may share one sync (group commit).
// Errors: ErrNotFound / ErrTokenUsed / ErrAlreadyRevoked (wrapped) as documented;
// any other error means the backend failed and names it.
type Store interface {
	// UseToken atomically records key (the token's reuse key, wire-spec §4.10)
	// with the raw token as value if, and only if, the key is absent. It
	// returns ErrTokenUsed when the key exists. Two instances sharing one
	// database can never both succeed for the same key.
	UseToken(ctx context.Context, key string, token []byte) error
	// StoreCertificate durably writes x509_certs[serial] and x509_certs_data[serial].
	StoreCertificate(ctx context.Context, c *Certificate) error
	// GetCertificate returns the certificate record, or ErrNotFound.
	GetCertificate(ctx context.Context, serial string) (*Certificate, error)
	// Revoke records a revocation if the serial is not revoked yet; else
	// ErrAlreadyRevoked.
	Revoke(ctx context.Context, r *Revocation) error
	// GetRevocation returns the revocation of serial, or ErrNotFound.
	GetRevocation(ctx context.Context, serial string) (*Revocation, error)
	// Close flushes pending writes and releases the backend. Further calls fail.
	Close() error
}

// OrderedTokens is implemented by stores that commit every write through one
// ordered stream in one process (Badger, bbolt). UseTokenOrdered checks and
// records key exactly as UseToken does (atomically: a later UseToken or
// UseTokenOrdered of the key fails with ErrTokenUsed at once), but returns
// without waiting for the record to be durable; it becomes durable no later
// than any write this store acknowledges after UseTokenOrdered returned.
//
// The authority uses it only while tokens issued before the CA started are
// refused (the iat check): a crash can then only forget tokens whose request
// got no certificate, and those cannot be replayed after the restart anyway.
type OrderedTokens interface {
	UseTokenOrdered(ctx context.Context, key string, token []byte) error
}

// QueuedCertificates is implemented by stores that commit every write
// through one ordered stream in one process (Badger, bbolt). QueueCertificate
// checks c as StoreCertificate does and queues its write without waiting for
// it: the write becomes durable no later than any write this store
// acknowledges after QueueCertificate returned, and wait returns its outcome
// (StoreCertificate's error), blocking until it is known. wait may be called
// more than once.
//
// The ACME server uses it to make an issued certificate durable with the
// order that names it: one sync instead of two in a row.
type QueuedCertificates interface {
	QueueCertificate(ctx context.Context, c *Certificate) (wait func(context.Context) error, err error)
}

// WriteHinter is implemented by stores that group concurrent writes into one
// sync and hold a batch open while more writes are announced (Badger,
// bbolt). The authority calls ExpectWrite when a request that will write
// (sign, renew, rekey, revoke) starts and the returned function when it
// ends, whether or not it wrote. A store without it commits what is queued.
type WriteHinter interface {
	ExpectWrite() (done func())
}
