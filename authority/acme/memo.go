package acme

import (
	"bytes"
	"encoding/json"
	"slices"
	"sync"
)

// decodeMemo remembers, per record, the bytes last decoded or encoded and
// the value they decode to, for the records a certificate's requests read
// again and again (orders, authorizations, challenges, certificates). A
// record whose stored bytes are the remembered ones is not decoded again:
// its value is a copy of the remembered one, which is what decoding would
// give. It never answers without the store's bytes, so it is right for
// every backend, also for CAs sharing a database. At most max records; it
// is emptied when full.
type decodeMemo struct {
	mu  sync.RWMutex
	max int
	m   map[memoKey]memoEntry
}

type memoKey struct{ table, key string }

type memoEntry struct {
	raw []byte
	v   any // *Order, *Authz, *Challenge or *Certificate, never changed
}

func newDecodeMemo(maxRecords int) *decodeMemo {
	return &decodeMemo{max: maxRecords, m: make(map[memoKey]memoEntry)}
}

// memoable reports whether v is of a type the memo keeps.
func memoable(v any) bool {
	switch v.(type) {
	case *Order, *Authz, *Challenge, *Certificate:
		return true
	}
	return false
}

// decode sets v (a pointer) from raw, the bytes of table[key].
func (d *decodeMemo) decode(table, key string, raw []byte, v any) error {
	if d == nil || !memoable(v) {
		return json.Unmarshal(raw, v)
	}
	k := memoKey{table, key}
	d.mu.RLock()
	e, ok := d.m[k]
	d.mu.RUnlock()
	if ok && bytes.Equal(e.raw, raw) && copyRecord(v, e.v) {
		return nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return err
	}
	d.remember(k, raw, v)
	return nil
}

// encoded remembers that v encodes to raw (what txPut wrote).
func (d *decodeMemo) encoded(table, key string, raw []byte, v any) {
	if d == nil || !memoable(v) {
		return
	}
	d.remember(memoKey{table, key}, raw, v)
}

func (d *decodeMemo) remember(k memoKey, raw []byte, v any) {
	c := cloneRecord(v)
	if c == nil {
		return
	}
	raw = bytes.Clone(raw)
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.m) >= d.max {
		clear(d.m)
	}
	d.m[k] = memoEntry{raw: raw, v: c}
}

// cloneRecord returns a deep copy of v, or nil for another type.
func cloneRecord(v any) any {
	switch r := v.(type) {
	case *Order:
		c := *r
		c.Identifiers = slices.Clone(r.Identifiers)
		c.AuthorizationIDs = slices.Clone(r.AuthorizationIDs)
		c.Error = cloneProblem(r.Error)
		return &c
	case *Authz:
		c := *r
		c.ChallengeIDs = slices.Clone(r.ChallengeIDs)
		c.Error = cloneProblem(r.Error)
		return &c
	case *Challenge:
		c := *r
		c.Error = cloneProblem(r.Error)
		return &c
	case *Certificate:
		c := *r
		c.Leaf = bytes.Clone(r.Leaf)
		c.Intermediates = bytes.Clone(r.Intermediates)
		return &c
	}
	return nil
}

// copyRecord sets *dst to a deep copy of src if both are of one type.
func copyRecord(dst, src any) bool {
	c := cloneRecord(src)
	switch d := dst.(type) {
	case *Order:
		s, ok := c.(*Order)
		if ok {
			*d = *s
		}
		return ok
	case *Authz:
		s, ok := c.(*Authz)
		if ok {
			*d = *s
		}
		return ok
	case *Challenge:
		s, ok := c.(*Challenge)
		if ok {
			*d = *s
		}
		return ok
	case *Certificate:
		s, ok := c.(*Certificate)
		if ok {
			*d = *s
		}
		return ok
	}
	return false
}

func cloneProblem(p *ProblemJSON) *ProblemJSON {
	if p == nil {
		return nil
	}
	c := *p
	c.Subproblems = slices.Clone(p.Subproblems)
	return &c
}
