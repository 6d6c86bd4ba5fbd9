package badger

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// restrictModes makes every regular file under dirs (the database and value
// directories, the write-ahead log inside) readable and writable by its
// owner only, clearing the group and other bits. Badger v4 has no option
// for its files' mode: it creates most of them 0666 less the umask, which
// step-ca sets to 077 (cmd/step-ca), but the store can run in a process
// with another umask, and files created before may be wider. The store
// calls it at Open, at each write-ahead log checkpoint and at Close, so a
// file Badger creates in between (a table, a memtable log) is narrowed by
// the next of these. Files that disappear meanwhile (a compaction) are
// skipped.
func restrictModes(dirs ...string) error {
	var errs []error
	for _, dir := range dirs {
		err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			if err != nil || !e.Type().IsRegular() {
				return err
			}
			fi, err := e.Info()
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			if err != nil {
				return err
			}
			if perm := fi.Mode().Perm(); perm&0o077 != 0 {
				if err := os.Chmod(p, perm&^0o077); err != nil && !errors.Is(err, fs.ErrNotExist) {
					errs = append(errs, err)
				}
			}
			return nil
		})
		if err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("restrict file modes to the owner: %w", err)
	}
	return nil
}
