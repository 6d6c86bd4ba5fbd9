//go:build !unix

package main

import "testing"

// reportCPU reports nothing where getrusage is unavailable.
func reportCPU(*testing.B) func() { return func() {} }
