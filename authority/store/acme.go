package store

import "context"

// The ACME tables, step-ca's logical layout (wire-spec §6.4): each is a
// bucket of key → JSON value, so `db import` can carry them.
const (
	TableACMEAccounts      = "acme_accounts"
	TableACMEKeyIndex      = "acme_keyID_accountID_index"
	TableACMEAuthzs        = "acme_authzs"
	TableACMEChallenges    = "acme_challenges"
	TableACMENonces        = "nonces"
	TableACMEOrders        = "acme_orders"
	TableACMEAccountOrders = "acme_account_orders_index"
	TableACMECerts         = "acme_certs"
	TableACMESerialCerts   = "acme_serial_certs_index"
	TableACMEEABKeys       = "acme_external_account_keys"
	TableACMEEABReference  = "acme_external_account_keyID_reference_index"
	TableACMEEABProvIndex  = "acme_external_account_keyID_provisionerID_index"
)

// ACMETables lists every ACME table, in wire-spec §6.4's order.
func ACMETables() []string {
	return []string{
		TableACMEAccounts, TableACMEKeyIndex, TableACMEAuthzs, TableACMEChallenges, TableACMENonces,
		TableACMEOrders, TableACMEAccountOrders, TableACMECerts, TableACMESerialCerts,
		TableACMEEABKeys, TableACMEEABReference, TableACMEEABProvIndex,
	}
}

// IsACMETable reports whether t is one of ACMETables.
func IsACMETable(t string) bool {
	for _, a := range ACMETables() {
		if a == t {
			return true
		}
	}
	return false
}

// ACMEMaxKey and ACMEMaxValue bound the keys and values of the ACME tables
// (the nkey limit of step-ca's SQL tables; a JSON record is at most a few
// KiB, a certificate chain a few tens).
const (
	ACMEMaxKey   = 255
	ACMEMaxValue = 256 << 10
)

// ACMETx is one read-write transaction over the ACME tables. Reads see the
// transaction's own writes. Writes are applied, all or none, when the
// function given to ACMEUpdate returns nil.
type ACMETx interface {
	// Get returns a copy of table[key], or ErrNotFound (wrapped).
	Get(table, key string) ([]byte, error)
	// Put sets table[key] = value.
	Put(table, key string, value []byte)
	// Delete removes table[key] (absent is fine).
	Delete(table, key string)
}

// ACMEStore is the storage port of the ACME server (authority/acme).
//
// Safe for concurrent use; every method honours ctx while waiting.
// Durability: ACMEUpdate and ACMEConsume return after their writes are
// durable. Isolation: ACMEUpdate transactions are serializable with respect
// to the records they read (a record read in one transaction cannot change
// before it commits), also between CAs sharing one SQL database, so a
// read-check-write (an order moving from ready to processing, a nonce
// consumed) happens once. Errors: ErrNotFound (wrapped) for absent
// records; an errs.BadRequest for a key or value over the limits; anything
// else is a backend failure.
type ACMEStore interface {
	// ACMEGet returns a copy of table[key], or ErrNotFound (wrapped).
	ACMEGet(ctx context.Context, table, key string) ([]byte, error)
	// ACMEUpdate runs fn in a transaction and commits its writes if fn
	// returns nil; fn's error is returned as is. fn may run more than once
	// (a serialization retry) and must have no other side effects.
	ACMEUpdate(ctx context.Context, fn func(tx ACMETx) error) error
	// ACMEConsume deletes table[key] and reports whether it existed: of
	// two concurrent calls for one key, also on two CAs sharing a SQL
	// database, exactly one gets true.
	ACMEConsume(ctx context.Context, table, key string) (bool, error)
}

// ACMEPutter is implemented by ACME stores that write one record in one
// statement with no transaction around it (the SQL backends): the ACME
// server creates its nonces with it, one round trip instead of three.
type ACMEPutter interface {
	// ACMEPut sets table[key] = value; it is durable on return.
	ACMEPut(ctx context.Context, table, key string, value []byte) error
}

// ACMEScanner is implemented by ACME stores that can list a table, so that
// `db import` copies the ACME tables between Mayfly databases.
type ACMEScanner interface {
	// ACMEScan calls fn for every record of table (one of ACMETables), in
	// the backend's key order, and returns fn's first error. Records
	// written during the scan may or may not be seen; fn owns value.
	ACMEScan(ctx context.Context, table string, fn func(key string, value []byte) error) error
}
