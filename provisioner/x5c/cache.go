package x5c

import (
	"crypto/sha256"
	"crypto/x509"
	"sync"
	"time"
)

// maxCachedChains bounds a provisioner's chain cache: clients re-use their
// certificate for many tokens, so a few hundred entries serve a fleet, and
// a flood of distinct valid chains only evicts.
const maxCachedChains = 1024

// chainCache remembers chains that verified to the provisioner's roots, so
// that a client presenting the same certificate again costs one token
// signature check rather than a chain build with a signature check per
// link (two thirds of an X5C sign's CPU without it).
//
// It is keyed by the SHA-256 of the token's protected header, which holds
// the x5c chain: equal headers carry the same chain. An entry is added only
// after the chain verified (to the roots, for clientAuth, with a
// digitalSignature leaf), so unauthenticated input never enters it. What
// verifying depended on besides the chain, the time, is kept with it: an
// entry serves only within the validity of every certificate of the chain.
// Safe for concurrent use.
type chainCache struct {
	mu sync.Mutex
	m  map[[sha256.Size]byte]cachedChain
}

type cachedChain struct {
	chain               []*x509.Certificate
	notBefore, notAfter time.Time // the intersection of the chain's validity
}

func newChainCache() *chainCache {
	return &chainCache{m: make(map[[sha256.Size]byte]cachedChain)}
}

// get returns the verified chain of header at now, if cached.
func (c *chainCache) get(header []byte, now time.Time) ([]*x509.Certificate, bool) {
	key := sha256.Sum256(header)
	c.mu.Lock()
	e, ok := c.m[key]
	c.mu.Unlock()
	if !ok || now.Before(e.notBefore) || now.After(e.notAfter) {
		return nil, false
	}
	return e.chain, true
}

// put records the verified chain of header. When the cache is full an
// arbitrary entry makes room.
func (c *chainCache) put(header []byte, chain []*x509.Certificate) {
	e := cachedChain{chain: chain, notBefore: chain[0].NotBefore, notAfter: chain[0].NotAfter}
	for _, cert := range chain[1:] {
		if cert.NotBefore.After(e.notBefore) {
			e.notBefore = cert.NotBefore
		}
		if cert.NotAfter.Before(e.notAfter) {
			e.notAfter = cert.NotAfter
		}
	}
	key := sha256.Sum256(header)
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[key]; !ok && len(c.m) >= maxCachedChains {
		for k := range c.m {
			delete(c.m, k)
			break
		}
	}
	c.m[key] = e
}
