//go:build unix

package fileutil

import (
	"errors"
	"os"
	"syscall"
)

// syncDir fsyncs a directory so a rename inside it is durable. Filesystems
// that cannot fsync directories (EINVAL) are tolerated.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		return err
	}
	return nil
}
