//go:build linux

package e2e

import (
	"os/exec"
	"syscall"
)

// dieWithTest makes the kernel kill cmd's process if the test binary dies
// first (a -timeout panic, a SIGKILL), so no step-ca outlives the run.
func dieWithTest(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
