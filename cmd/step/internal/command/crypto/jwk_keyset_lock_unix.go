//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package crypto

import (
	"fmt"
	"os"
	"syscall"
)

// lockDir takes an exclusive flock on dir, waiting for it, and returns the
// function that releases it. The lock is on the directory rather than on the
// JWK Set file because an update replaces the file (rename), and a lock on the
// old file would not stop a second writer that opened the new one.
func lockDir(dir string) (func(), error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("flock %s: %w", dir, err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		_ = f.Close()
	}, nil
}
