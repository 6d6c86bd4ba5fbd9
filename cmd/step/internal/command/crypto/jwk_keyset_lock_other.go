//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package crypto

// lockDir is a no-op where flock(2) is not available: updates there are still
// atomic, but two concurrent ones may lose one of the changes.
func lockDir(string) (func(), error) { return func() {}, nil }
