// Command step is Mayfly's drop-in replacement for Smallstep's step CLI.
package main

import (
	"os"

	"github.com/urfave/cli/v2"

	"github.com/mayfly-pki/mayfly/cmd/step/internal/app"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/command/ca"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/command/certificate"
	stepcontext "github.com/mayfly-pki/mayfly/cmd/step/internal/command/context"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/command/crl"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/command/crypto"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/command/kms"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/command/oauth"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/command/path"
	sshcmd "github.com/mayfly-pki/mayfly/cmd/step/internal/command/ssh"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/command/version"
)

func main() {
	os.Exit(app.Run(newApp(), os.Args, os.Stderr))
}

// commands returns the command groups of step, in help order.
func commands() []*cli.Command {
	return []*cli.Command{
		ca.Command(),
		certificate.Command(),
		stepcontext.Command(),
		crl.Command(),
		crypto.Command(),
		kms.Command(),
		oauth.Command(),
		path.Command(),
		sshcmd.Command(),
		version.Command(),
	}
}

func newApp() *cli.App { return app.New(commands()...) }
