//go:build !unix

package main

// restrictUmask: there is no umask outside Unix.
func restrictUmask() {}
