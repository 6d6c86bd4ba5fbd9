package ca

import (
	"encoding/json"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/mayfly-pki/mayfly/authority/config"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/app"
)

// provisionerRemoveCommand returns `step ca provisioner remove` (wire-spec
// §8.1): it deletes a provisioner from ca.json and rewrites the file as step
// does (wire-spec §1.3 "Rewrite").
func provisionerRemoveCommand() *cli.Command {
	return &cli.Command{
		Name:      "remove",
		Usage:     "remove a provisioner",
		UsageText: "**step ca provisioner remove** <name> [**--kid**=<kid>] [**--ca-config**=<file>]",
		ArgsUsage: "<name>",
		Description: `**step ca provisioner remove** removes the provisioner <name> from the CA
configuration ($(step path)/config/ca.json, or **--ca-config**). Names are unique in
ca.json; **--kid** additionally requires the provisioner to be a JWK provisioner with
that key ID (and picks it among entries with the same name). The running step-ca picks the change up on SIGHUP or restart.

## EXAMPLES

'''
$ step ca provisioner remove dev
'''`,
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "kid", Usage: "The `kid` of the JWK provisioner to remove."},
		}, provCommonFlags()...),
		Action: provisionerRemoveAction,
	}
}

func provisionerRemoveAction(c *cli.Context) error {
	if err := app.CheckArgs(c, 1, 1); err != nil {
		return err
	}
	name, kid := c.Args().First(), c.String("kid")
	cfg, path, err := loadCAConfig(c, false)
	if remoteMode(c, err) {
		return provisionerRemoveRemote(c, name)
	}
	if err != nil {
		return err
	}
	list := cfg.Authority.Provisioners
	i := -1
	for j, raw := range list {
		if _, n, err := config.ProvisionerHeader(raw); err == nil && n == name && (kid == "" || provisionerKID(raw) == kid) {
			i = j
			break
		}
	}
	switch {
	case i < 0 && kid != "":
		return fmt.Errorf("provisioner %s with kid %s not found", name, kid)
	case i < 0:
		return fmt.Errorf("provisioner %s not found", name)
	}
	cfg.Authority.Provisioners = append(list[:i:i], list[i+1:]...)
	return saveCAConfig(errWriter(c), path, cfg)
}

// provisionerKID returns key.kid of a provisioner entry, "" when it has none.
func provisionerKID(raw json.RawMessage) string {
	var p struct {
		Key struct {
			KID string `json:"kid"`
		} `json:"key"`
	}
	if json.Unmarshal(raw, &p) != nil {
		return ""
	}
	return p.Key.KID
}
