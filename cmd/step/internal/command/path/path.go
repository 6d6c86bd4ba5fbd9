// Package path implements "step path".
package path

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/mayfly-pki/mayfly/cmd/step/internal/app"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/flags"
	"github.com/mayfly-pki/mayfly/internal/steppath"
)

// Command returns "step path".
func Command() *cli.Command {
	return &cli.Command{
		Name:      "path",
		Usage:     "print the configured step path and exit",
		UsageText: "**step path** [**--base**] [**--profile**]",
		Description: `**step path** prints the step path: $STEPPATH, else $HOME/.step; with contexts
(a contexts.json in the base path) the current authority's directory,
$STEPPATH/authorities/<authority>.

    $ step path
    /home/user/.step
    $ step path --base
    $ step path --profile`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "base", Usage: "Return the base of the step path"},
			&cli.BoolFlag{Name: "profile", Usage: "Return the profile path of the current context"},
			flags.Context(),
		},
		Action: func(c *cli.Context) error {
			if err := app.CheckArgs(c, 0, 0); err != nil {
				return err
			}
			var (
				p   string
				err error
			)
			switch {
			case c.Bool("base"):
				p, err = steppath.Base()
			case c.Bool("profile"):
				p, err = steppath.ProfilePath()
			default:
				p, err = steppath.Path()
			}
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(c.App.Writer, p)
			return err
		},
	}
}
