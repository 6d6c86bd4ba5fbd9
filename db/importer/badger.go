package importer

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"

	"github.com/mayfly-pki/mayfly/db/badger"
	"github.com/mayfly-pki/mayfly/db/importer/badgerv1"
	"github.com/mayfly-pki/mayfly/db/importer/badgerv2"
)

// badgerDB is a Badger v1 or v2 directory as db/importer/badgerv1 and
// badgerv2 open it.
type badgerDB interface {
	// Scan calls fn, in key order, for every key with prefix, with copies
	// of the key and (unless keysOnly) the value.
	Scan(ctx context.Context, prefix []byte, keysOnly bool, fn func(key, value []byte) error) error
	// Get returns a copy of key's value, nil when absent.
	Get(key []byte) ([]byte, error)
	Close() error
}

// badgerKV reads step-ca's tables from the Badger v1 or v2 directory of its
// db.type "badger", "badgerv1" or "badgerv2" (wire-spec §6.2): a table is the
// marker key u16le(len(table))||table with an empty value, and its records
// the keys u16le(len(table))||table||u16le(len(key))||key.
type badgerKV struct {
	db      badgerDB
	display string // "badger v2 <dir>"
	tmp     string // the temporary copy read instead of dir, removed by close
}

// openBadgerDir opens step-ca's Badger directory dir (with its value log in
// valueDir, "" meaning dir) read-only, with the Badger generation its
// MANIFEST names. Badger takes a shared lock: a directory that step-ca (or
// anything) holds open is refused. A directory that was not closed cleanly
// cannot be opened read-only, since Badger would replay its value log: it is
// copied to a temporary directory and the copy is read. dir is never written.
func openBadgerDir(dir, valueDir string) (*badgerKV, error) {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("open source badger database %s: "+format, append([]any{dir}, args...)...)
	}
	for _, d := range []string{dir, valueDir} {
		if d == "" {
			continue
		}
		fi, err := os.Stat(d)
		if err != nil {
			if d == valueDir {
				return nil, fail("value directory %s: %w", d, err)
			}
			return nil, fail("%w", err)
		}
		if !fi.IsDir() {
			return nil, fail("%s is not a directory", d)
		}
	}
	format, err := badger.DetectFormat(dir)
	if err != nil {
		return nil, fmt.Errorf("open source badger database: %w", err)
	}
	var (
		open func(dir, valueDir string, readOnly bool) (badgerDB, error)
		gen  string
	)
	switch format {
	case badger.FormatV1:
		gen = "v1"
		open = func(dir, valueDir string, readOnly bool) (badgerDB, error) {
			return badgerv1.Open(dir, valueDir, readOnly)
		}
	case badger.FormatV2:
		gen = "v2"
		open = func(dir, valueDir string, readOnly bool) (badgerDB, error) {
			return badgerv2.Open(dir, valueDir, readOnly)
		}
	case badger.FormatV4:
		return nil, fail("it holds a Mayfly (Badger v4) database: to copy it, use --from-config with its ca.json")
	default:
		return nil, fail("no MANIFEST: not a Badger database directory")
	}
	b := &badgerKV{display: "badger " + gen + " " + dir}
	db, err := open(dir, valueDir, true)
	switch {
	case errors.Is(err, syscall.EWOULDBLOCK):
		return nil, fail("another process holds it open: stop step-ca first (it keeps its database locked while it runs)")
	case errors.Is(err, badgerv1.ErrReplayNeeded), errors.Is(err, badgerv2.ErrReplayNeeded):
		b.tmp, err = copyBadger(dir, valueDir)
		if err != nil {
			return nil, fail("it was not closed cleanly (step-ca stopped without closing it), so Badger cannot read it in place, and a copy failed: %w", err)
		}
		b.display += " (read from a temporary copy: step-ca did not close it cleanly)"
		db, err = open(filepath.Join(b.tmp, "db"), filepath.Join(b.tmp, "db"), false)
		if err != nil {
			os.RemoveAll(b.tmp)
			return nil, fail("read a copy of it (it was not closed cleanly): %w", err)
		}
	case err != nil:
		return nil, fail("%w", err)
	}
	b.db = db
	return b, nil
}

// copyBadger copies the files of dir and valueDir (without badger's LOCK
// file) into one new temporary directory's "db" and returns the temporary
// directory.
func copyBadger(dir, valueDir string) (string, error) {
	tmp, err := os.MkdirTemp("", "mayfly-import-badger-")
	if err != nil {
		return "", err
	}
	dst := filepath.Join(tmp, "db")
	err = os.Mkdir(dst, 0o700)
	if err == nil {
		err = copyFiles(dir, dst)
	}
	if err == nil && valueDir != "" && absPath(valueDir) != absPath(dir) {
		err = copyFiles(valueDir, dst)
	}
	if err != nil {
		os.RemoveAll(tmp)
		return "", fmt.Errorf("%w (TMPDIR may need more room)", err)
	}
	return tmp, nil
}

// copyFiles copies the regular files of src, but badger's LOCK, into dst.
func copyFiles(src, dst string) error {
	ents, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if !e.Type().IsRegular() || e.Name() == "LOCK" {
			continue
		}
		if err := copyFile(filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

// absPath is p made absolute, or p when that fails.
func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
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

func (b *badgerKV) name() string { return b.display }

func (b *badgerKV) close() error {
	err := b.db.Close()
	if b.tmp != "" {
		if rerr := os.RemoveAll(b.tmp); err == nil {
			err = rerr
		}
	}
	return err
}

// badgerPrefix is table's marker key, the prefix of its records' keys.
func badgerPrefix(table string) []byte {
	return append(binary.LittleEndian.AppendUint16(nil, uint16(len(table))), table...)
}

// badgerRecordKey returns the record key of k, a key starting with prefix,
// and whether k is a record (false: the table marker).
func badgerRecordKey(table string, prefix, k []byte) ([]byte, bool, error) {
	rest := k[len(prefix):]
	if len(rest) == 0 {
		return nil, false, nil
	}
	if len(rest) < 2 || int(binary.LittleEndian.Uint16(rest)) != len(rest)-2 || len(rest) == 2 {
		return nil, false, fmt.Errorf("table %s: a key (%x) is not in step-ca's layout", table, k)
	}
	return rest[2:], true, nil
}

func (b *badgerKV) scan(ctx context.Context, table string, optional bool, fn func(key, value []byte) error) error {
	prefix := badgerPrefix(table)
	found := false
	err := b.db.Scan(ctx, prefix, false, func(k, v []byte) error {
		found = true
		key, record, err := badgerRecordKey(table, prefix, k)
		if err != nil || !record {
			return err
		}
		return fn(key, v)
	})
	switch {
	case err != nil:
		return fmt.Errorf("source %s: read table %s: %w", b.display, table, err)
	case !found && !optional:
		return fmt.Errorf("source %s: table %s not found: is this a step-ca database?", b.display, table)
	}
	return nil
}

func (b *badgerKV) scanCerts(ctx context.Context, fn func(key, der, data []byte) error) error {
	dataPrefix := badgerPrefix(tableCertsData)
	return b.scan(ctx, tableCerts, false, func(key, der []byte) error {
		data, err := b.db.Get(append(binary.LittleEndian.AppendUint16(bytes.Clone(dataPrefix), uint16(len(key))), key...))
		if err != nil {
			return fmt.Errorf("source %s: read table %s, serial %s: %w", b.display, tableCertsData, key, err)
		}
		return fn(key, der, data)
	})
}

// tables counts the records of every table, from one scan of the keys.
func (b *badgerKV) tables(ctx context.Context) (map[string]int, error) {
	counts := map[string]int{}
	err := b.db.Scan(ctx, nil, true, func(k, _ []byte) error {
		if len(k) < 2 {
			return nil
		}
		n := int(binary.LittleEndian.Uint16(k))
		if len(k) < 2+n {
			return nil // not step-ca's layout
		}
		table := string(k[2 : 2+n])
		if len(k) == 2+n {
			counts[table] += 0 // the marker
		} else {
			counts[table]++
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("source %s: count the records of its tables: %w", b.display, err)
	}
	return counts, nil
}
