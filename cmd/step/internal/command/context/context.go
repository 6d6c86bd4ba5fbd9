// Package context implements "step context current|list|select|remove"
// (wire-spec §1.1): contexts.json maps a name to {"authority", "profile"} and
// current-context.json names the selected one.
package context

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/mayfly-pki/mayfly/cmd/step/internal/app"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/flags"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/ui"
	"github.com/mayfly-pki/mayfly/internal/steppath"
)

// Command returns the "step context" group.
func Command() *cli.Command {
	return &cli.Command{
		Name:      "context",
		Usage:     "manage certificate authority contexts",
		UsageText: "**step context** <subcommand> [arguments] [global-flags] [subcommand-flags]",
		Description: `**step context** manages contexts: named pairs of an authority (a CA
configuration under $STEPPATH/authorities/<authority>) and a profile
($STEPPATH/profiles/<profile>), stored in $STEPPATH/contexts.json.`,
		Subcommands: []*cli.Command{currentCommand(), listCommand(), selectCommand(), removeCommand()},
	}
}

func currentCommand() *cli.Command {
	return &cli.Command{
		Name:      "current",
		Usage:     "return the current context",
		UsageText: "**step context current** [**--json**]",
		Flags:     []cli.Flag{&cli.BoolFlag{Name: "json", Usage: "Print the current context as JSON."}},
		Action: func(c *cli.Context) error {
			if err := app.CheckArgs(c, 0, 0); err != nil {
				return err
			}
			cur, err := steppath.Current()
			if err != nil {
				if errors.Is(err, steppath.ErrNoContexts) || errors.Is(err, steppath.ErrNoCurrentContext) {
					return errors.New("there is no current context")
				}
				return err
			}
			if c.Bool("json") {
				b, err := json.Marshal(map[string]string{"name": cur.Name, "authority": cur.Authority, "profile": cur.Profile})
				if err != nil {
					return err
				}
				_, err = fmt.Fprintln(c.App.Writer, string(b))
				return err
			}
			_, err = fmt.Fprintln(c.App.Writer, cur.Name)
			return err
		},
	}
}

func listCommand() *cli.Command {
	return &cli.Command{
		Name:      "list",
		Usage:     "list available certificate authority contexts",
		UsageText: "**step context list**",
		Description: `**step context list** prints the context names, one a line, the current one
marked with "▶ ".`,
		Action: func(c *cli.Context) error {
			if err := app.CheckArgs(c, 0, 0); err != nil {
				return err
			}
			cs, err := steppath.ReadContexts()
			if err != nil {
				if errors.Is(err, steppath.ErrNoContexts) {
					return nil
				}
				return err
			}
			current := ""
			if cur, err := steppath.Current(); err == nil {
				current = cur.Name
			}
			for _, n := range cs.Names() {
				if n == current {
					fmt.Fprintf(c.App.Writer, "▶ %s\n", n)
				} else {
					fmt.Fprintln(c.App.Writer, n)
				}
			}
			return nil
		},
	}
}

func selectCommand() *cli.Command {
	return &cli.Command{
		Name:      "select",
		Usage:     "select the default certificate authority context",
		UsageText: "**step context select** <name>",
		ArgsUsage: "<name>",
		Action: func(c *cli.Context) error {
			if err := app.CheckArgs(c, 1, 1); err != nil {
				return err
			}
			name := c.Args().First()
			cs, err := steppath.ReadContexts()
			if err != nil {
				return err
			}
			if _, ok := cs[name]; !ok {
				return fmt.Errorf("context '%s' not found", name)
			}
			return steppath.WriteCurrentName(name)
		},
	}
}

func removeCommand() *cli.Command {
	return &cli.Command{
		Name:      "remove",
		Usage:     "remove a context and all associated configuration",
		UsageText: "**step context remove** <name> [**--force**]",
		ArgsUsage: "<name>",
		Description: `**step context remove** deletes the context from contexts.json, and its
authority and profile directories when no other context uses them.`,
		Flags: []cli.Flag{flags.Force()},
		Action: func(c *cli.Context) error {
			if err := app.CheckArgs(c, 1, 1); err != nil {
				return err
			}
			name := c.Args().First()
			cs, err := steppath.ReadContexts()
			if err != nil {
				return err
			}
			ctx, ok := cs[name]
			if !ok {
				return fmt.Errorf("context '%s' not found", name)
			}
			if !c.Bool("force") {
				if !ui.IsTerminal() {
					return fmt.Errorf("removing context '%s' deletes its configuration: use --force to confirm", name)
				}
				yes, err := ui.Confirm(fmt.Sprintf("Are you sure you want to delete the configuration for context %s (this cannot be undone!)", name))
				if err != nil {
					return err
				}
				if !yes {
					return nil
				}
			}
			return removeContext(cs, ctx)
		},
	}
}

func removeContext(cs steppath.Contexts, ctx *steppath.Context) error {
	base, err := steppath.Base()
	if err != nil {
		return err
	}
	delete(cs, ctx.Name)
	authorityUsed, profileUsed := false, false
	for _, o := range cs {
		authorityUsed = authorityUsed || o.Authority == ctx.Authority
		profileUsed = profileUsed || o.Profile == ctx.Profile
	}
	if err := steppath.WriteContexts(cs); err != nil {
		return err
	}
	if cur, err := steppath.ReadCurrentName(); err == nil && cur == ctx.Name {
		if err := os.Remove(filepath.Join(base, steppath.CurrentContextFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("removing %s: %w", steppath.CurrentContextFile, err)
		}
	}
	if !authorityUsed && safeName(ctx.Authority) {
		if err := os.RemoveAll(filepath.Join(base, steppath.AuthoritiesDir, ctx.Authority)); err != nil {
			return fmt.Errorf("removing authority %s: %w", ctx.Authority, err)
		}
	}
	if !profileUsed && safeName(ctx.Profile) {
		if err := os.RemoveAll(filepath.Join(base, steppath.ProfilesDir, ctx.Profile)); err != nil {
			return fmt.Errorf("removing profile %s: %w", ctx.Profile, err)
		}
	}
	return nil
}

// safeName reports whether name is a plain directory name (no separators, not . or ..)
// so that removing <dir>/<name> cannot escape <dir>.
func safeName(name string) bool {
	return name != "" && name != "." && name != ".." && filepath.Base(name) == name && !strings.ContainsAny(name, `/\`)
}
