//go:build !unix

package fileutil

// syncDir is a no-op where directories cannot be fsynced (Windows): the
// rename itself is the durability point there.
func syncDir(string) error { return nil }
