//go:build unix

package main

import (
	"syscall"
	"testing"
	"time"
)

// processCPU returns the CPU time (user and system) this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU starts measuring the process's CPU time; the returned function
// reports it per operation as "cpu-ns/op". On a loaded machine wall time per
// operation measures the neighbours as much as the code; the CPU time the
// process spends (including its GC) is steadier. Call it after the setup
// and ResetTimer, and the result when the loop ends.
func reportCPU(b *testing.B) func() {
	start := processCPU()
	return func() {
		if b.N > 0 {
			b.ReportMetric(float64(processCPU()-start)/float64(b.N), "cpu-ns/op")
		}
	}
}
