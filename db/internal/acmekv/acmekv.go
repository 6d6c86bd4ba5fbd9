// Package acmekv is what every backend shares to implement
// store.ACMEStore: the key checks and a transaction that buffers its writes
// so that a backend applies them all at once, only when the transaction's
// function succeeded.
package acmekv

import (
	"bytes"
	"fmt"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/internal/errs"
)

// Check validates a table name, a key and (when not nil) a value.
func Check(table, key string, value []byte) error {
	if !store.IsACMETable(table) {
		return errs.Errorf(errs.Internal, "unknown ACME table %q", table)
	}
	if key == "" || len(key) > store.ACMEMaxKey {
		return errs.Errorf(errs.BadRequest, "invalid key in table %s: %d bytes long, want 1 to %d", table, len(key), store.ACMEMaxKey)
	}
	if len(value) > store.ACMEMaxValue {
		return errs.Errorf(errs.BadRequest, "invalid value in table %s: %d bytes long, the limit is %d", table, len(value), store.ACMEMaxValue)
	}
	return nil
}

// Write is one buffered write: Value nil means delete.
type Write struct {
	Table, Key string
	Value      []byte
}

// NotFound returns the error of an absent record.
func NotFound(table, key string) error {
	return fmt.Errorf("table %s, key %s: %w", table, key, store.ErrNotFound)
}

// Tx is a store.ACMETx reading through Read and buffering writes.
type Tx struct {
	// Read returns the committed value of table[key] (a copy), or an error
	// wrapping store.ErrNotFound.
	Read   func(table, key string) ([]byte, error)
	writes []Write
	index  map[[2]string]int
	err    error
}

var _ store.ACMETx = (*Tx)(nil)

// Get implements store.ACMETx.
func (t *Tx) Get(table, key string) ([]byte, error) {
	if err := Check(table, key, nil); err != nil {
		return nil, err
	}
	if i, ok := t.index[[2]string{table, key}]; ok {
		w := t.writes[i]
		if w.Value == nil {
			return nil, NotFound(table, key)
		}
		return bytes.Clone(w.Value), nil
	}
	return t.Read(table, key)
}

// Put implements store.ACMETx.
func (t *Tx) Put(table, key string, value []byte) {
	if value == nil {
		value = []byte{}
	}
	t.set(table, key, bytes.Clone(value))
}

// Delete implements store.ACMETx.
func (t *Tx) Delete(table, key string) { t.set(table, key, nil) }

func (t *Tx) set(table, key string, v []byte) {
	if err := Check(table, key, v); err != nil {
		if t.err == nil {
			t.err = err
		}
		return
	}
	if t.index == nil {
		t.index = make(map[[2]string]int)
	}
	k := [2]string{table, key}
	if i, ok := t.index[k]; ok {
		t.writes[i].Value = v
		return
	}
	t.index[k] = len(t.writes)
	t.writes = append(t.writes, Write{Table: table, Key: key, Value: v})
}

// Writes returns the buffered writes in order, or the first invalid write's
// error.
func (t *Tx) Writes() ([]Write, error) { return t.writes, t.err }
