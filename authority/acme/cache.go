package acme

import "sync"

// accountCache keeps decoded accounts by ID for a store only this process
// writes (Badger, bbolt): every change of an account goes through this
// Service, which updates the cache after the change committed. It holds at
// most max accounts and is emptied when full.
type accountCache struct {
	mu  sync.RWMutex
	max int
	m   map[string]*Account
	// gen counts drops: a value read from the store is cached only if no
	// account changed since the read began, so a read racing a change
	// cannot cache the old value after the change dropped it.
	gen uint64
}

func newAccountCache(maxAccounts int) *accountCache {
	return &accountCache{max: maxAccounts, m: make(map[string]*Account)}
}

func (c *accountCache) get(id string) (*Account, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.RLock()
	a, ok := c.m[id]
	c.mu.RUnlock()
	if !ok {
		return nil, false
	}
	cp := *a
	return &cp, true
}

// generation returns the drop count, to pass to put.
func (c *accountCache) generation() uint64 {
	if c == nil {
		return 0
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.gen
}

// put caches a, read from the store after generation returned gen.
func (c *accountCache) put(a *Account, gen uint64) {
	if c == nil {
		return
	}
	cp := *a
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	if len(c.m) >= c.max {
		clear(c.m)
	}
	c.m[a.ID] = &cp
}

func (c *accountCache) drop(id string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	delete(c.m, id)
	c.gen++
	c.mu.Unlock()
}
