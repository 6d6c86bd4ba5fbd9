package app

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// ReorderArgs returns args (os.Args style: args[0] is the program name) rewritten so
// that urfave/cli v2, which stops parsing flags at the first positional argument,
// accepts flags after positional arguments as step (urfave/cli v1) does:
//
//	step ca certificate foo foo.crt foo.key --token T
//	→ step ca certificate --token T foo foo.crt foo.key
//
// It walks the command names to the resolved command; flags seen on the way stay in
// place. From the first positional argument of the resolved command on, flags (with
// their values, for flags that take one) move before the positionals, keeping their
// relative order. "--" ends the flags: everything after it is positional, and the
// output keeps a "--" before the positionals when any came after it. A flag unknown
// to the command is assumed to take no value (urfave/cli will then report it).
//
// "step help a b" is rewritten to "step a b --help", and positionals are dropped
// when --help is among the flags (urfave/cli would take them as help topics).
//
// ReorderArgs does not modify args or the commands.
func ReorderArgs(app *cli.App, args []string) []string {
	if len(args) < 2 {
		return append([]string(nil), args...)
	}
	out := []string{args[0]}
	rest := args[1:]
	if rest[0] == "help" || rest[0] == "h" {
		if len(rest) > 1 && !strings.HasPrefix(rest[1], "-") {
			rest = append(append([]string(nil), rest[1:]...), "--help")
		}
	}
	flags := app.Flags
	subs := app.Commands
	for len(rest) > 0 {
		tok := rest[0]
		if tok == "--" {
			break
		}
		if isFlag(tok) {
			n := flagSpan(flags, rest)
			out = append(out, rest[:n]...)
			rest = rest[n:]
			continue
		}
		cmd := findCommand(subs, tok)
		if cmd == nil {
			break
		}
		out = append(out, tok)
		rest = rest[1:]
		flags = cmd.Flags
		subs = cmd.Subcommands
	}
	return append(out, reorderTail(flags, rest)...)
}

// reorderTail moves flags (with their values) before positionals in rest.
func reorderTail(flags []cli.Flag, rest []string) []string {
	var fl, pos []string
	sawDashDash := false
	for len(rest) > 0 {
		tok := rest[0]
		if tok == "--" {
			sawDashDash = true
			pos = append(pos, rest[1:]...)
			break
		}
		if isFlag(tok) {
			n := flagSpan(flags, rest)
			fl = append(fl, rest[:n]...)
			rest = rest[n:]
			continue
		}
		pos = append(pos, tok)
		rest = rest[1:]
	}
	out := append([]string(nil), fl...)
	for _, f := range fl {
		if f == "--help" || f == "-h" || f == "-help" {
			// urfave/cli would take a positional after --help as a help topic.
			return out
		}
	}
	if sawDashDash && len(pos) > 0 {
		out = append(out, "--")
	}
	return append(out, pos...)
}

// isFlag reports whether tok looks like a flag ("-x", "--xy", "--x=v"); "-" alone
// is a positional (stdin) and negative numbers are flags only if defined as such,
// which step never does, so "-5" counts as a flag like urfave/cli would.
func isFlag(tok string) bool {
	return len(tok) > 1 && tok[0] == '-' && tok != "--"
}

// flagSpan returns how many tokens the flag at rest[0] spans: 1, or 2 when it takes
// a value given as the next token.
func flagSpan(flags []cli.Flag, rest []string) int {
	name := strings.TrimLeft(rest[0], "-")
	if strings.Contains(name, "=") {
		return 1
	}
	if !takesValue(flags, name) || len(rest) < 2 {
		return 1
	}
	return 2
}

// takesValue reports whether the flag called name (any alias) in flags takes a
// value. Unknown flags, bool flags and help are treated as value-less.
func takesValue(flags []cli.Flag, name string) bool {
	if name == "help" || name == "h" {
		return false
	}
	for _, f := range flags {
		for _, n := range f.Names() {
			if n != name {
				continue
			}
			if df, ok := f.(cli.DocGenerationFlag); ok {
				return df.TakesValue()
			}
			return true
		}
	}
	return false
}

func findCommand(cmds []*cli.Command, name string) *cli.Command {
	for _, c := range cmds {
		if c.HasName(name) {
			return c
		}
	}
	return nil
}
