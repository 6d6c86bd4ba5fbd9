// Package app is the step CLI framework: it builds the urfave/cli v2 application,
// makes it behave like step (urfave/cli v1): flags after positional arguments
// (ReorderArgs), flag values from STEP_* variables and defaults.json
// (ApplyDefaults), errors on stderr with exit 1, panics with exit 2 (Run).
//
// A command group is a *cli.Command built by its package's Command() function and
// passed to New. Commands need nothing special to get the framework's behaviour;
// they should:
//   - return errors (one readable line) rather than print them;
//   - return cli.Exit("", code) (or any cli.ExitCoder) for a specific exit code;
//   - check positional arguments with CheckArgs;
//   - not mark flags Required (values may come from env or defaults.json after
//     urfave's required check; use flags.RequireString in the action).
package app

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"

	"github.com/urfave/cli/v2"

	"github.com/mayfly-pki/mayfly/internal/version"
)

// New returns the step application with the given command groups. It installs
// ApplyDefaults as Before hook of every command (chained before a command's own
// Before), hides the implicit "help" subcommand of leaf commands (so that "help" can
// be a positional argument), and makes usage errors plain errors.
// New modifies the commands passed in; call it once per set of commands.
// Do not run two applications concurrently (tests included): urfave/cli mutates its
// package-level HelpFlag on every run.
func New(cmds ...*cli.Command) *cli.App {
	a := &cli.App{
		Name:                 "step",
		HelpName:             "step",
		Usage:                "plumbing for distributed systems",
		Version:              version.Version,
		HideVersion:          true,
		EnableBashCompletion: false,
		// step (urfave/cli v1) takes a slice flag's value whole: --san "a,b"
		// is one SAN. Only $STEP_<FLAG> is split (see ApplyDefaults).
		DisableSliceFlagSeparator: true,
		Suggest:                   false,
		Writer:                    os.Stdout,
		ErrWriter:                 os.Stderr,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "config", Usage: "path to the config `file` to use for CLI flags"},
			// urfave/cli v1's version flag, which step keeps; ours rather than
			// v2's, whose printer is a package variable.
			&cli.BoolFlag{Name: "version", Aliases: []string{"v"}, Usage: "print the version"},
		},
		Before:         printVersion,
		Commands:       cmds,
		OnUsageError:   usageError,
		ExitErrHandler: func(*cli.Context, error) {}, // Run maps errors to exit codes.
	}
	for _, c := range cmds {
		install(c)
	}
	return a
}

func install(c *cli.Command) {
	own := c.Before
	c.Before = func(ctx *cli.Context) error {
		if err := ApplyDefaults(ctx); err != nil {
			return err
		}
		if own != nil {
			return own(ctx)
		}
		return nil
	}
	if c.OnUsageError == nil {
		c.OnUsageError = usageError
	}
	if len(c.Subcommands) == 0 {
		c.HideHelpCommand = true
	}
	for _, s := range c.Subcommands {
		install(s)
	}
}

// VersionLine is what `step version` and `step --version` print.
func VersionLine() string {
	return fmt.Sprintf("Mayfly step/%s (%s)\n", version.Version, version.Platform())
}

// printVersion answers `step --version` (or -v), whatever follows, as step
// does: the version on stdout and exit 0.
func printVersion(c *cli.Context) error {
	if !c.Bool("version") {
		return nil
	}
	if _, err := fmt.Fprint(c.App.Writer, VersionLine()); err != nil {
		return err
	}
	return cli.Exit("", 0)
}

// usageError turns urfave's flag parsing errors into a plain error (urfave would
// otherwise print the help text).
func usageError(_ *cli.Context, err error, _ bool) error {
	return fmt.Errorf("incorrect usage: %w", err)
}

// Run runs a with args (os.Args style) after ReorderArgs and returns the process
// exit code: 0 on success; for an error, the message on stderr and 1, or the code of
// a cli.ExitCoder (its message printed only when not empty); 2 after a panic
// (with the stack when STEPDEBUG=1). With STEPDEBUG=1 errors print with %+v.
func Run(a *cli.App, args []string, stderr io.Writer) (code int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(stderr, "panic: %v\n", r)
			if os.Getenv("STEPDEBUG") == "1" {
				_, _ = stderr.Write(debug.Stack())
			}
			code = 2
		}
	}()
	a.ErrWriter = stderr
	err := a.Run(ReorderArgs(a, args))
	if err == nil {
		return 0
	}
	code = 1
	var ec cli.ExitCoder
	if errors.As(err, &ec) {
		code = ec.ExitCode()
	}
	msg := err.Error()
	if os.Getenv("STEPDEBUG") == "1" {
		msg = fmt.Sprintf("%+v", err)
	}
	if msg != "" {
		fmt.Fprintln(stderr, msg)
	}
	return code
}

// CheckArgs returns step's error when the number of positional arguments is not
// within [lo, hi] (hi < 0: no upper bound):
// "not enough positional arguments were provided in 'step x <a>'" or
// "too many positional arguments were provided in 'step x <a>'".
func CheckArgs(c *cli.Context, lo, hi int) error {
	n := c.NArg()
	usage := c.Command.HelpName
	if c.Command.ArgsUsage != "" {
		usage += " " + c.Command.ArgsUsage
	}
	switch {
	case n < lo:
		return fmt.Errorf("not enough positional arguments were provided in '%s'", usage)
	case hi >= 0 && n > hi:
		return fmt.Errorf("too many positional arguments were provided in '%s'", usage)
	}
	return nil
}
