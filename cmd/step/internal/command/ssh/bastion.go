package ssh

import (
	"os"
	"os/exec"
	"strings"

	"github.com/mayfly-pki/mayfly/api/wire"
)

// runBastion relays through the bastion with `ssh -W host:port`, as step does.
func runBastion(b *wire.SSHBastion, host, port string) error {
	args := []string{"-W", host + ":" + port}
	if b.Port != "" {
		args = append(args, "-p", b.Port)
	}
	if b.Flags != "" {
		args = append(args, strings.Fields(b.Flags)...)
	}
	target := b.Hostname
	if b.User != "" {
		target = b.User + "@" + target
	}
	args = append(args, target)
	cmd := b.Command
	if cmd == "" {
		cmd = "ssh"
	}
	c := exec.Command(cmd, args...)
	c.Stdin, c.Stdout, c.Stderr = os.Stdin, os.Stdout, os.Stderr
	return c.Run()
}
