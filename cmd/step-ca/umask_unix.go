//go:build unix

package main

import "syscall"

// restrictUmask makes the files step-ca creates without choosing a mode
// readable and writable by their owner only: above all Badger's tables,
// value log, memtable logs and lock files, for which Badger v4 has no mode
// option (the store also narrows them at open, at checkpoints and at close,
// but the umask covers them from birth). Files written on purpose with a
// mode keep it: fileutil.WriteFile sets the mode it is given explicitly.
func restrictUmask() { syscall.Umask(0o077) }
