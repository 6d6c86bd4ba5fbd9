// Package bloom is a growable Bloom filter of strings, for the embedded
// stores' used-token check: a key the filter has never seen is certainly not
// in the table, so the store can skip the lookup for it.
//
// Each layer is a blocked Bloom filter (all bits of a key in one 512-bit,
// cache-line-sized block: one cache miss per layer) with 10 bits per key and
// 7 bits set per key, about 1% false positives when full. When a layer
// holds its capacity, a new one twice as large takes the adds; a lookup
// checks every layer, so the false positive rate stays near 1% per layer
// (a handful of layers after millions of keys).
package bloom

import (
	"hash/maphash"
	"sync"
)

const (
	bitsPerKey    = 10
	bitsPerBlock  = 512
	wordsPerBlock = bitsPerBlock / 64
	// MinCapacity is the capacity of the first layer at least: 64 Ki keys,
	// 80 KiB.
	MinCapacity = 1 << 16
)

// Filter is safe for concurrent use.
type Filter struct {
	seed   maphash.Seed
	mu     sync.Mutex
	layers []*layer
}

type layer struct {
	words    []uint64 // len is a multiple of wordsPerBlock
	blocks   uint64
	n, limit int
}

// New returns an empty filter whose first layer holds capacity keys (at
// least MinCapacity) before the filter grows.
func New(capacity int) *Filter {
	f := &Filter{seed: maphash.MakeSeed()}
	f.layers = []*layer{newLayer(max(capacity, MinCapacity))}
	return f
}

func newLayer(capacity int) *layer {
	blocks := (capacity*bitsPerKey + bitsPerBlock - 1) / bitsPerBlock
	return &layer{words: make([]uint64, blocks*wordsPerBlock), blocks: uint64(blocks), limit: capacity}
}

// Add records key.
func (f *Filter) Add(key string) {
	h := maphash.String(f.seed, key)
	f.mu.Lock()
	defer f.mu.Unlock()
	l := f.layers[len(f.layers)-1]
	if l.n >= l.limit {
		l = newLayer(2 * l.limit)
		f.layers = append(f.layers, l)
	}
	l.add(h)
	l.n++
}

// MayContain reports false only if key was never added.
func (f *Filter) MayContain(key string) bool {
	h := maphash.String(f.seed, key)
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, l := range f.layers {
		if l.has(h) {
			return true
		}
	}
	return false
}

// positions derives the block (from the high 32 bits of h, by
// multiply-shift) and the 7 bit positions inside it (9 bits each, from a
// remix of h, so that they do not depend on the block).
func (l *layer) positions(h uint64) (block []uint64, bits uint64) {
	b := ((h >> 32) * l.blocks) >> 32
	return l.words[b*wordsPerBlock : (b+1)*wordsPerBlock], h * 0x9e3779b97f4a7c15
}

func (l *layer) add(h uint64) {
	block, bits := l.positions(h)
	for range 7 {
		p := bits & (bitsPerBlock - 1)
		block[p/64] |= 1 << (p % 64)
		bits >>= 9
	}
}

func (l *layer) has(h uint64) bool {
	block, bits := l.positions(h)
	for range 7 {
		p := bits & (bitsPerBlock - 1)
		if block[p/64]&(1<<(p%64)) == 0 {
			return false
		}
		bits >>= 9
	}
	return true
}
