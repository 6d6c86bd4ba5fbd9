// Package importertest writes step-ca databases for the tests of the
// importer and of `step-ca db import`: Badger v1 and v2 directories laid out
// as Smallstep's nosql package writes them (wire-spec §6.2).
package importertest

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"

	badgerv1 "github.com/dgraph-io/badger"
	badgerv2 "github.com/dgraph-io/badger/v2"
)

// Tables is a step-ca database's content: table → key → value. A table
// without records still gets its marker.
type Tables map[string]map[string][]byte

// BadgerKey is step-ca's Badger key of key in table:
// u16le(len(table))||table||u16le(len(key))||key, or the table's marker
// u16le(len(table))||table when key is nil.
func BadgerKey(table string, key []byte) []byte {
	b := binary.LittleEndian.AppendUint16(nil, uint16(len(table)))
	b = append(b, table...)
	if key == nil {
		return b
	}
	b = binary.LittleEndian.AppendUint16(b, uint16(len(key)))
	return append(b, key...)
}

// entries returns every key and value of t in step-ca's Badger layout.
func (t Tables) entries() map[string][]byte {
	kv := map[string][]byte{}
	for table, rows := range t {
		kv[string(BadgerKey(table, nil))] = []byte{}
		for k, v := range rows {
			kv[string(BadgerKey(table, []byte(k)))] = v
		}
	}
	return kv
}

// WriteBadgerV2 writes t into dir (valueDir "" means dir) with Badger v2 and
// badger's default options, as step-ca's db.type "badgerv2" does.
func WriteBadgerV2(dir, valueDir string, t Tables) error {
	db, err := openV2(dir, valueDir)
	if err != nil {
		return err
	}
	if err := writeV2(db, t); err != nil {
		db.Close()
		return err
	}
	return db.Close()
}

// HoldBadgerV2 writes t into dir with Badger v2 and keeps the database open,
// as a running step-ca does, until release is called. When crashCopy is not
// empty, the directory's files are copied there while the database is open:
// the copy is what a step-ca killed at that moment leaves behind.
func HoldBadgerV2(dir string, t Tables, crashCopy string) (release func() error, err error) {
	db, err := openV2(dir, "")
	if err != nil {
		return nil, err
	}
	if err := writeV2(db, t); err != nil {
		db.Close()
		return nil, err
	}
	if crashCopy != "" {
		if err := copyDir(dir, crashCopy); err != nil {
			db.Close()
			return nil, err
		}
	}
	return db.Close, nil
}

func openV2(dir, valueDir string) (*badgerv2.DB, error) {
	o := badgerv2.DefaultOptions(dir).WithLogger(nil)
	if valueDir != "" {
		o = o.WithValueDir(valueDir)
	}
	db, err := badgerv2.Open(o)
	if err != nil {
		return nil, fmt.Errorf("open badger v2 %s: %w", dir, err)
	}
	return db, nil
}

func writeV2(db *badgerv2.DB, t Tables) error {
	wb := db.NewWriteBatch()
	for k, v := range t.entries() {
		if err := wb.Set([]byte(k), v); err != nil {
			wb.Cancel()
			return fmt.Errorf("badger v2 write: %w", err)
		}
	}
	if err := wb.Flush(); err != nil {
		return fmt.Errorf("badger v2 write: %w", err)
	}
	return nil
}

// WriteBadgerV1 writes t into dir with Badger v1 and badger's default
// options, as step-ca's db.type "badger" (or "badgerv1") does.
func WriteBadgerV1(dir string, t Tables) error {
	db, err := badgerv1.Open(badgerv1.DefaultOptions(dir).WithLogger(nil))
	if err != nil {
		return fmt.Errorf("open badger v1 %s: %w", dir, err)
	}
	wb := db.NewWriteBatch()
	for k, v := range t.entries() {
		if err := wb.Set([]byte(k), v); err != nil {
			wb.Cancel()
			db.Close()
			return fmt.Errorf("badger v1 write: %w", err)
		}
	}
	if err := wb.Flush(); err != nil {
		db.Close()
		return fmt.Errorf("badger v1 write: %w", err)
	}
	return db.Close()
}

// copyDir copies the regular files of src into dst (created).
func copyDir(src, dst string) error {
	if err := os.MkdirAll(dst, 0o700); err != nil {
		return err
	}
	ents, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		if err := copyFile(filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
