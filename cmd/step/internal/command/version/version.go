// Package version implements "step version".
package version

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/mayfly-pki/mayfly/cmd/step/internal/app"
)

// Command returns "step version".
func Command() *cli.Command {
	return &cli.Command{
		Name:      "version",
		Usage:     "display the current version of the cli",
		UsageText: "**step version**",
		Description: `**step version** (or **step --version**, **step -v**) prints the version of the CLI and
the platform it runs on:

    $ step version
    Mayfly step/0.1.0 (linux/amd64)`,
		Action: func(c *cli.Context) error {
			if err := app.CheckArgs(c, 0, 0); err != nil {
				return err
			}
			_, err := fmt.Fprint(c.App.Writer, app.VersionLine())
			return err
		},
	}
}
