// Package badgerv2 reads a Badger v2 directory, the default database of
// Smallstep's step-ca (db.type "badgerv2"), for db/importer. Only the
// importer imports it, so Badger v2 stays out of Mayfly's own storage.
package badgerv2

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"

	badger "github.com/dgraph-io/badger/v2"
	pkgerrors "github.com/pkg/errors"
)

// ErrReplayNeeded is returned by a read-only Open of a directory that was
// not closed cleanly (its value log must be replayed, which writes).
var ErrReplayNeeded = errors.New("the database was not closed cleanly")

// DB is an open Badger v2 directory.
type DB struct{ db *badger.DB }

// Open opens dir with the options step-ca opens it with (badger's defaults),
// valueDir ("" means dir) holding the value log, and badger's logging off.
// With readOnly, badger takes a shared lock and writes nothing; an error
// wrapping syscall.EWOULDBLOCK means another process (step-ca) holds the
// directory, and ErrReplayNeeded that it was not closed cleanly. The caller
// must Close the DB.
func Open(dir, valueDir string, readOnly bool) (*DB, error) {
	o := badger.DefaultOptions(dir).WithLogger(nil).WithReadOnly(readOnly)
	if valueDir != "" {
		o = o.WithValueDir(valueDir)
	}
	db, err := badger.Open(o)
	if err != nil {
		cause := pkgerrors.Cause(err)
		switch {
		case cause == badger.ErrReplayNeeded || strings.Contains(err.Error(), badger.ErrReplayNeeded.Error()):
			// The value log's replay error is formatted into a
			// new one ("Unable to replay logfile ... Error=...").
			return nil, ErrReplayNeeded
		case errors.Is(cause, syscall.EWOULDBLOCK):
			return nil, fmt.Errorf("the directory is locked by another process: %w", syscall.EWOULDBLOCK)
		}
		return nil, errors.New(strings.Join(strings.Fields(err.Error()), " "))
	}
	return &DB{db: db}, nil
}

// Scan calls fn, in key order, for every key starting with prefix, with a
// copy of the key and, unless keysOnly, of its value. It stops at fn's first
// error or when ctx ends, and returns that error.
func (d *DB) Scan(ctx context.Context, prefix []byte, keysOnly bool, fn func(key, value []byte) error) error {
	return d.db.View(func(txn *badger.Txn) error {
		o := badger.DefaultIteratorOptions
		o.PrefetchValues = !keysOnly
		o.Prefix = prefix
		it := txn.NewIterator(o)
		defer it.Close()
		for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			item := it.Item()
			var v []byte
			if !keysOnly {
				var err error
				if v, err = item.ValueCopy(nil); err != nil {
					return fmt.Errorf("read the value of a key: %w", err)
				}
			}
			if err := fn(item.KeyCopy(nil), v); err != nil {
				return err
			}
		}
		return nil
	})
}

// Get returns a copy of key's value, or nil when key is absent.
func (d *DB) Get(key []byte) ([]byte, error) {
	var v []byte
	err := d.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(key)
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		v, err = item.ValueCopy(nil)
		return err
	})
	return v, err
}

// Close closes the directory.
func (d *DB) Close() error { return d.db.Close() }
