package ca

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/mayfly-pki/mayfly/cmd/step/internal/app"
	"github.com/mayfly-pki/mayfly/provisioner"
)

// provisionerUpdateCommand returns `step ca provisioner update`: it changes
// the claims, templates and (JWK) key of a provisioner in ca.json. Only the
// flags given on the command line change anything; every other member of
// the entry is kept as it is, in its place.
func provisionerUpdateCommand() *cli.Command {
	return &cli.Command{
		Name:  "update",
		Usage: "update a provisioner",
		UsageText: `**step ca provisioner update** <name> [**--create**] [**--public-key**=<file>]
[**--private-key**=<file>] [**--password-file**=<file>] [**--x509-min-dur**=<duration>]
[**--x509-max-dur**=<duration>] [**--x509-default-dur**=<duration>] [**--ssh-user-min-dur**=<duration>]
[**--ssh-user-max-dur**=<duration>] [**--ssh-user-default-dur**=<duration>]
[**--ssh-host-min-dur**=<duration>] [**--ssh-host-max-dur**=<duration>]
[**--ssh-host-default-dur**=<duration>] [**--disable-renewal**] [**--allow-renewal-after-expiry**]
[**--disable-smallstep-extensions**] [**--ssh**] [**--x509-template**=<file>]
[**--x509-template-data**=<file>] [**--ssh-template**=<file>] [**--ssh-template-data**=<file>]
[**--ca-config**=<file>]`,
		ArgsUsage: "<name>",
		Description: `**step ca provisioner update** changes the provisioner <name> in the CA
configuration ($(step path)/config/ca.json, or **--ca-config**). Boolean flags take
an explicit value to turn a claim off (**--disable-renewal=false**, **--ssh=false**).
**--create**, **--public-key** and **--private-key** replace the key of a JWK
provisioner (**--public-key** also replaces the keys of a K8SSA provisioner). The
running step-ca picks the change up on SIGHUP or restart.

## EXAMPLES

'''
$ step ca provisioner update dev --x509-max-dur 72h --disable-renewal
'''`,
		Flags:  provisionerUpdateFlags(),
		Action: provisionerUpdateAction,
	}
}

func provisionerUpdateFlags() []cli.Flag {
	fs := provJWKFlags()
	fs = append(fs, provClaimFlags()...)
	fs = append(fs, provTemplateFlagList()...)
	return append(fs, provCommonFlags()...)
}

func provisionerUpdateAction(c *cli.Context) error {
	if err := app.CheckArgs(c, 1, 1); err != nil {
		return err
	}
	name := c.Args().First()
	cfg, path, err := loadCAConfig(c, true)
	if remoteMode(c, err) {
		return provisionerUpdateRemote(c, name)
	}
	if err != nil {
		return err
	}
	i, typ := findProvisioner(cfg, name)
	if i < 0 {
		return fmt.Errorf("provisioner %s not found", name)
	}
	typ = strings.ToUpper(typ)
	obj, err := parseJSONObject(cfg.Authority.Provisioners[i])
	if err != nil {
		return fmt.Errorf("provisioner %s: invalid entry in %s: %w", name, path, err)
	}
	if err := updateProvKey(c, obj, typ, name); err != nil {
		return err
	}
	if err := updateProvClaimsMember(c, obj, name, cfg.Authority.Claims); err != nil {
		return err
	}
	if err := updateProvOptions(c, obj, typ); err != nil {
		return err
	}
	raw, err := json.Marshal(obj)
	if err != nil {
		return fmt.Errorf("encoding provisioner %q: %w", name, err)
	}
	cfg.Authority.Provisioners[i] = raw
	return saveCAConfig(errWriter(c), path, cfg)
}

// updateProvKey applies --create, --public-key and --private-key: a JWK
// provisioner gets a new "key" (and "encryptedKey", removed when only a
// public key is given); a K8SSA provisioner new "publicKeys".
func updateProvKey(c *cli.Context, obj *jsonObject, typ, name string) error {
	create := c.Bool("create")
	pub, priv := c.String("public-key"), c.String("private-key")
	if !create && pub == "" && priv == "" {
		return nil
	}
	switch {
	case typ == "JWK":
		k, err := provJWKFromFlags(c, create)
		if err != nil {
			return err
		}
		if err := obj.set("key", k.pub, "name"); err != nil {
			return err
		}
		if k.encrypted == "" {
			obj.del("encryptedKey")
			return nil
		}
		return obj.set("encryptedKey", k.encrypted, "key")
	case typ == "K8SSA" && !create && priv == "":
		keys, err := readProvPublicKeys(pub)
		if err != nil {
			return err
		}
		return obj.set("publicKeys", keys, "name")
	}
	return fmt.Errorf("flags '--create', '--public-key' and '--private-key' do not apply to provisioner %s of type %s", name, typ)
}

// updateProvClaimsMember applies the claims flags given to the entry's
// "claims" (created when absent), and checks the result as step-ca would.
func updateProvClaimsMember(c *cli.Context, obj *jsonObject, name string, global *provisioner.Claims) error {
	cl := new(provisioner.Claims)
	if raw, ok := obj.get("claims"); ok && !isJSONNull(raw) {
		if err := json.Unmarshal(raw, cl); err != nil {
			return fmt.Errorf("provisioner %s: invalid claims: %w", name, err)
		}
	}
	changed, err := updateProvClaims(c, cl)
	if err != nil || !changed {
		return err
	}
	if err := checkProvClaims(name, cl, global); err != nil {
		return err
	}
	return obj.set("claims", cl, "")
}

// updateProvOptions applies the template flags given to the entry's
// "options" (created as {"x509":{},"ssh":{}} when absent), keeping every
// other option (webhooks, ...). A new templateFile replaces an inline
// template, which step-ca would otherwise prefer.
func updateProvOptions(c *cli.Context, obj *jsonObject, typ string) error {
	blocks, err := readTemplateFlags(c)
	if err != nil || len(blocks) == 0 {
		return err
	}
	if typ == "SSHPOP" {
		return fmt.Errorf("flag '--%s' is not supported by SSHPOP provisioners", anyTemplateFlag(c))
	}
	opts, err := childObject(obj, "options")
	if err != nil {
		return err
	}
	for _, name := range []string{"x509", "ssh"} {
		if _, ok := opts.get(name); !ok {
			if err := opts.set(name, struct{}{}, ""); err != nil {
				return err
			}
		}
	}
	for _, name := range []string{"x509", "ssh"} {
		b := blocks[name]
		if b == nil {
			continue
		}
		blk, err := childObject(opts, name)
		if err != nil {
			return err
		}
		if b.TemplateFile != "" {
			blk.del("template")
			if err := blk.set("templateFile", b.TemplateFile, ""); err != nil {
				return err
			}
		}
		if b.TemplateData != nil {
			if err := blk.set("templateData", b.TemplateData, ""); err != nil {
				return err
			}
		}
		if err := opts.set(name, blk, ""); err != nil {
			return err
		}
	}
	return obj.set("options", opts, "")
}

// childObject returns the object member key of obj, an empty object when it
// is absent or null.
func childObject(obj *jsonObject, key string) (*jsonObject, error) {
	raw, ok := obj.get(key)
	if !ok || isJSONNull(raw) {
		return &jsonObject{vals: map[string]json.RawMessage{}}, nil
	}
	child, err := parseJSONObject(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	return child, nil
}

func isJSONNull(raw json.RawMessage) bool {
	return bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
}
