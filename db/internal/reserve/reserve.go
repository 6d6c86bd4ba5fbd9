// Package reserve holds the used-token keys that an embedded store (Badger,
// bbolt) has accepted and queued for its committer but not yet committed.
// A token use is decided at once against this set and the committed
// database, so two requests with the same token cannot both be queued.
package reserve

import "sync"

// Set is a set of reserved keys, safe for concurrent use.
type Set struct {
	mu   sync.Mutex
	keys map[string]struct{}
}

// New returns an empty set.
func New() *Set { return &Set{keys: map[string]struct{}{}} }

// Reserve reserves key unless it is reserved already or committed says it
// is in the database; ok is false in both cases. committed runs with the
// set locked, so a concurrent Reserve of any key waits for its answer: the
// check and the reservation are one step. An error from committed reserves
// nothing.
func (s *Set) Reserve(key string, committed func() (bool, error)) (ok bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.keys[key]; dup {
		return false, nil
	}
	found, err := committed()
	if err != nil || found {
		return false, err
	}
	s.keys[key] = struct{}{}
	return true, nil
}

// Release drops key's reservation: its write is committed (the database now
// answers for it) or was never queued. A store keeps the reservation of a
// write that failed, so the key stays used in this process.
func (s *Set) Release(key string) {
	s.mu.Lock()
	delete(s.keys, key)
	s.mu.Unlock()
}

// Len returns the number of reserved keys.
func (s *Set) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.keys)
}
