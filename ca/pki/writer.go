package pki

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/mayfly-pki/mayfly/internal/fileutil"
)

// Modes of what Init writes (wire-spec §1.2).
const (
	dirMode    fs.FileMode = 0o700
	secretMode fs.FileMode = 0o600 // certificates and keys
	configMode fs.FileMode = 0o644 // ca.json, defaults.json
)

// plannedFile is one file Init will write.
type plannedFile struct {
	path string
	data []byte
	perm fs.FileMode
}

// checkTargets fails when a planned file exists and force is false, or
// when a planned path is a directory. It only reads the file system.
func checkTargets(files []plannedFile, force bool) error {
	for _, f := range files {
		fi, err := os.Lstat(f.path)
		switch {
		case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR):
			// ENOTDIR: a parent is a regular file; the writability check
			// below names it.
			continue
		case err != nil:
			return fmt.Errorf("checking %s: %w", f.path, err)
		case fi.IsDir():
			return fmt.Errorf("%s is a directory: cannot write a file there", f.path)
		case !force:
			return fmt.Errorf("%s %w: use --force to overwrite", f.path, ErrExists)
		}
	}
	return nil
}

// checkWritable verifies, without leaving anything behind, that every dir
// (or, for a missing dir, its nearest existing ancestor) accepts new files:
// it creates and removes a probe file. The error is one line naming the directory.
func checkWritable(dirs []string) error {
	probed := map[string]bool{}
	for _, d := range dirs {
		target, err := nearestExisting(d)
		if err != nil {
			return err
		}
		if probed[target] {
			continue
		}
		probed[target] = true
		f, err := os.CreateTemp(target, ".mayfly-init-probe-*")
		if err != nil {
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			return fmt.Errorf("%s is not writable: %w", target, err)
		}
		name := f.Name()
		_ = f.Close()
		if err := os.Remove(name); err != nil {
			return fmt.Errorf("removing probe file %s: %w", name, err)
		}
	}
	return nil
}

// nearestExisting returns dir if it exists, else its closest existing
// ancestor. It fails when a component on the way is not a directory.
func nearestExisting(dir string) (string, error) {
	for d := dir; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		switch {
		case err == nil && fi.IsDir():
			return d, nil
		case err == nil:
			return "", fmt.Errorf("%s is not a directory", d)
		case !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR):
			return "", fmt.Errorf("checking %s: %w", d, err)
		}
		if parent := filepath.Dir(d); parent == d {
			return "", fmt.Errorf("no existing parent directory for %s", dir)
		}
	}
}

// undoEntry remembers how to undo one file write.
type undoEntry struct {
	path    string
	existed bool
	data    []byte
	perm    fs.FileMode
}

// txn applies directory creations and atomic file writes and can undo them:
// files this run created are removed, files it overwrote get their previous
// content and mode back, and directories it created are removed (if empty).
// A txn is not safe for concurrent use.
type txn struct {
	writeFile func(path string, data []byte, perm fs.FileMode) error
	dirs      []string // created by this run, in creation order
	files     []undoEntry
}

// newTxn returns a txn writing with fileutil.WriteFile.
func newTxn() *txn { return &txn{writeFile: fileutil.WriteFile} }

// mkdirAll creates dir and its missing parents with mode 0700 (exactly, not
// subject to the umask), recording what it created.
func (t *txn) mkdirAll(dir string) error {
	var missing []string
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil {
			break
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("checking %s: %w", d, err)
		}
		missing = append(missing, d)
		if filepath.Dir(d) == d {
			break
		}
	}
	for i := len(missing) - 1; i >= 0; i-- {
		d := missing[i]
		if err := os.Mkdir(d, dirMode); err != nil {
			return fmt.Errorf("creating directory %s: %w", d, err)
		}
		t.dirs = append(t.dirs, d)
		if err := os.Chmod(d, dirMode); err != nil {
			return fmt.Errorf("setting the mode of %s: %w", d, err)
		}
	}
	return nil
}

// write writes one planned file atomically, after remembering the previous
// content of the path (if any) for undo.
func (t *txn) write(f plannedFile) error {
	u := undoEntry{path: f.path}
	if fi, err := os.Lstat(f.path); err == nil {
		prev, err := os.ReadFile(f.path)
		if err != nil {
			return fmt.Errorf("reading %s before overwriting it: %w", f.path, err)
		}
		u.existed, u.data, u.perm = true, prev, fi.Mode().Perm()
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("checking %s: %w", f.path, err)
	}
	// Record before writing: a failed atomic write leaves the old file, and
	// restoring it is harmless; a missing file is simply not there to remove.
	t.files = append(t.files, u)
	if err := t.writeFile(f.path, f.data, f.perm); err != nil {
		return err
	}
	return nil
}

// rollback undoes every recorded change in reverse order and reports the
// changes it could not undo (nil when everything was undone).
func (t *txn) rollback() error {
	var errList []error
	for i := len(t.files) - 1; i >= 0; i-- {
		u := t.files[i]
		if u.existed {
			if err := fileutil.WriteFile(u.path, u.data, u.perm); err != nil {
				errList = append(errList, fmt.Errorf("restoring %s: %w", u.path, err))
			}
			continue
		}
		if err := os.Remove(u.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errList = append(errList, fmt.Errorf("removing %s: %w", u.path, err))
		}
	}
	for i := len(t.dirs) - 1; i >= 0; i-- {
		if err := os.Remove(t.dirs[i]); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errList = append(errList, fmt.Errorf("removing directory %s: %w", t.dirs[i], err))
		}
	}
	t.files, t.dirs = nil, nil
	return errors.Join(errList...)
}
