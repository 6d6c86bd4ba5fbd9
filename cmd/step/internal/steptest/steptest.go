// Package steptest runs step commands in-process for tests, through the same
// framework as the binary (argument reordering, defaults, exit codes).
package steptest

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/mayfly-pki/mayfly/cmd/step/internal/app"
)

// Result is the outcome of one command run.
type Result struct {
	Stdout string
	Stderr string // errors printed by the framework (ui.Printf lines go to the real stderr)
	Code   int
}

// Run runs "step <args>" with the given command groups and returns its output.
// When stdin is not nil it replaces os.Stdin for the duration of the run, so tests
// that pass stdin must not run in parallel with others that read it.
func Run(t *testing.T, cmds func() []*cli.Command, stdin []byte, args ...string) Result {
	t.Helper()
	if stdin != nil {
		f := filepath.Join(t.TempDir(), "stdin")
		if err := os.WriteFile(f, stdin, 0o600); err != nil {
			t.Fatal(err)
		}
		in, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		old := os.Stdin
		os.Stdin = in
		defer func() {
			os.Stdin = old
			in.Close()
		}()
	}
	a := app.New(cmds()...)
	var stdout, stderr bytes.Buffer
	a.Writer = &stdout
	code := app.Run(a, append([]string{"step"}, args...), &stderr)
	return Result{Stdout: stdout.String(), Stderr: stderr.String(), Code: code}
}

// Fields splits a command line on spaces, for table-driven tests.
func Fields(s string) []string { return strings.Fields(s) }
