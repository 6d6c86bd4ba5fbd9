package badger

import (
	"sync"

	badgerdb "github.com/dgraph-io/badger/v4"

	"github.com/mayfly-pki/mayfly/db/internal/steplayout"
)

// revokedSet holds every serial that may be revoked. The store is the
// database's only writer (Badger's directory lock), loads every revoked
// serial when it opens and adds a serial before its revocation is queued,
// so a serial outside the set is not revoked: GetRevocation answers it
// without a read. Renewals check their certificate's serial on every
// request; revocations are rare and never deleted (retention keeps them).
type revokedSet struct {
	mu sync.RWMutex
	m  map[string]struct{}
}

func (r *revokedSet) add(serial string) {
	r.mu.Lock()
	r.m[serial] = struct{}{}
	r.mu.Unlock()
}

func (r *revokedSet) has(serial string) bool {
	r.mu.RLock()
	_, ok := r.m[serial]
	r.mu.RUnlock()
	return ok
}

// loadRevoked reads the serials of revoked_x509_certs (keys only).
func loadRevoked(db *badgerdb.DB) (*revokedSet, error) {
	r := &revokedSet{m: map[string]struct{}{}}
	prefix := tableMarker(steplayout.TableRevokedCerts)
	err := db.View(func(txn *badgerdb.Txn) error {
		opts := badgerdb.DefaultIteratorOptions
		opts.Prefix = prefix
		opts.PrefetchValues = false
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Rewind(); it.ValidForPrefix(prefix); it.Next() {
			if serial, ok := serialOf(it.Item().Key(), len(prefix)); ok {
				r.m[serial] = struct{}{}
			}
		}
		return nil
	})
	return r, err
}
