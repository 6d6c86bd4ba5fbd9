package ca

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/mayfly-pki/mayfly/cmd/step/internal/app"
	"github.com/mayfly-pki/mayfly/provisioner"
)

// provisionerAddCommand returns `step ca provisioner add` (wire-spec §8.1):
// it appends a provisioner to ca.json (ca.json mode; remote management is not
// supported) and rewrites the file as step does (wire-spec §1.3 "Rewrite").
func provisionerAddCommand() *cli.Command {
	return &cli.Command{
		Name:  "add",
		Usage: "add a provisioner",
		UsageText: `**step ca provisioner add** <name> [**--type**=JWK] [**--create**] [**--public-key**=<file>]
[**--private-key**=<file>] [**--password-file**=<file>] [**--ca-config**=<file>]

**step ca provisioner add** <name> **--type**=ACME [**--force-cn**] [**--require-eab**]
[**--challenge**=<challenge>] [**--attestation-format**=<format>] [**--attestation-roots**=<file>]

**step ca provisioner add** <name> **--type**=X5C **--x5c-roots**=<file>

**step ca provisioner add** <name> **--type**=K8SSA **--public-key**=<file>

**step ca provisioner add** <name> **--type**=SSHPOP

**step ca provisioner add** <name> **--type**=OIDC **--client-id**=<id> **--configuration-endpoint**=<url>
[**--client-secret**=<secret>] [**--domain**=<domain>] [**--group**=<group>] [**--admin**=<email>]
[**--tenant-id**=<id>] [**--listen-address**=<address>] [**--scope**=<scope>] [**--auth-param**=<param>]

**step ca provisioner add** <name> **--type**=SCEP [**--challenge**=<challenge>] [**--capabilities**=<capability>]
[**--include-root**] [**--exclude-intermediate**] [**--min-public-key-length**=<length>]
[**--encryption-algorithm-identifier**=<id>]

**step ca provisioner add** <name> **--type**=[AWS|GCP|Azure] [**--aws-account**=<id>]
[**--gcp-service-account**=<name>] [**--gcp-project**=<name>] [**--gcp-organization**=<id>]
[**--azure-tenant**=<id>] [**--azure-resource-group**=<name>] [**--azure-audience**=<name>]
[**--azure-subscription-id**=<id>] [**--azure-object-id**=<id>] [**--instance-age**=<duration>]
[**--iid-roots**=<file>] [**--disable-custom-sans**] [**--disable-trust-on-first-use**]

**step ca provisioner add** <name> **--type**=Nebula **--nebula-root**=<file>

Claims and templates (all types): [**--x509-min-dur**=<duration>] [**--x509-max-dur**=<duration>]
[**--x509-default-dur**=<duration>] [**--ssh-user-min-dur**=<duration>] [**--ssh-user-max-dur**=<duration>]
[**--ssh-user-default-dur**=<duration>] [**--ssh-host-min-dur**=<duration>] [**--ssh-host-max-dur**=<duration>]
[**--ssh-host-default-dur**=<duration>] [**--disable-renewal**] [**--allow-renewal-after-expiry**]
[**--disable-smallstep-extensions**] [**--ssh**=false] [**--x509-template**=<file>]
[**--x509-template-data**=<file>] [**--ssh-template**=<file>] [**--ssh-template-data**=<file>]`,
		ArgsUsage: "<name>",
		Description: `**step ca provisioner add** adds a provisioner to the CA configuration
($(step path)/config/ca.json, or **--ca-config**). The running step-ca picks it up on
SIGHUP or restart. The CLI does not contact identity providers: OIDC, GCP and Azure
provisioners are stored as given. Only JWK provisioners are served by the CA today;
the others are stored and listed as disabled.

A JWK provisioner gets a new P-256 key (**--create**, the default) encrypted with the
password of **--password-file** (or one typed on the terminal), or the key of
**--public-key** (no encrypted key is stored then, tokens must be signed with
**step ca token --key**) or of **--private-key** (stored encrypted with the password).

## EXAMPLES

Add a JWK provisioner with a new key and a longer maximum certificate lifetime:
'''
$ step ca provisioner add dev --create --password-file pw.txt --x509-max-dur 48h
'''

Add an ACME provisioner:
'''
$ step ca provisioner add acme --type ACME
'''

Add an X5C provisioner trusting the roots in a bundle:
'''
$ step ca provisioner add x5c --type X5C --x5c-roots roots.pem
'''`,
		Flags:  provisionerAddFlags(),
		Action: provisionerAddAction,
	}
}

func provisionerAddFlags() []cli.Flag {
	fs := []cli.Flag{
		&cli.StringFlag{Name: "type", Value: "JWK", Usage: "The `type` of provisioner: JWK, OIDC, ACME, X5C, K8SSA, SSHPOP, SCEP, AWS, GCP, Azure or Nebula."},
	}
	fs = append(fs, provJWKFlags()...)
	fs = append(fs, provTypeFlags()...)
	fs = append(fs, provClaimFlags()...)
	fs = append(fs, provTemplateFlagList()...)
	return append(fs, provCommonFlags()...)
}

// provTypeNames maps a lower-case --type value to the type written in
// ca.json: step writes the linkedca enum names (all upper case).
func provTypeNames() map[string]string {
	return map[string]string{
		"jwk": "JWK", "oidc": "OIDC", "gcp": "GCP", "aws": "AWS", "azure": "AZURE", "acme": "ACME",
		"x5c": "X5C", "k8ssa": "K8SSA", "sshpop": "SSHPOP", "scep": "SCEP", "nebula": "NEBULA",
	}
}

// provType validates --type and returns the name written to ca.json.
func provType(v string) (string, error) {
	if t, ok := provTypeNames()[strings.ToLower(v)]; ok {
		return t, nil
	}
	return "", fmt.Errorf("invalid value '%s' for flag '--type'; options are JWK, OIDC, ACME, X5C, K8SSA, SSHPOP, SCEP, AWS, GCP, Azure, or Nebula", v)
}

func provisionerAddAction(c *cli.Context) error {
	if err := app.CheckArgs(c, 1, 1); err != nil {
		return err
	}
	name := c.Args().First()
	if strings.TrimSpace(name) == "" {
		return fmt.Errorf("the provisioner name cannot be empty")
	}
	typ, err := provType(c.String("type"))
	if err != nil {
		return err
	}
	cfg, path, err := loadCAConfig(c, true)
	if remoteMode(c, err) {
		return provisionerAddRemote(c, typ, name)
	}
	if err != nil {
		return err
	}
	if i, _ := findProvisioner(cfg, name); i >= 0 {
		return fmt.Errorf("provisioner with name %s already exists", name)
	}
	if f := anyTemplateFlag(c); f != "" && typ == "SSHPOP" {
		return fmt.Errorf("flag '--%s' is not supported by SSHPOP provisioners", f)
	}
	raw, err := provEntryJSON(c, typ, name, cfg.Authority.Claims)
	if err != nil {
		return err
	}
	cfg.Authority.Provisioners = append(cfg.Authority.Provisioners, raw)
	return saveCAConfig(errWriter(c), path, cfg)
}

// newProvEntry builds the ca.json entry of a new provisioner of type typ
// from the type's flags.
// provEntryJSON is the ca.json entry of the new provisioner name of type
// typ from the flags, its claims checked against the authority's (global;
// nil: none known).
func provEntryJSON(c *cli.Context, typ, name string, global *provisioner.Claims) (json.RawMessage, error) {
	claims, err := newProvClaims(c)
	if err != nil {
		return nil, err
	}
	if err := checkProvClaims(name, claims, global); err != nil {
		return nil, err
	}
	opts, err := newProvOptions(c)
	if err != nil {
		return nil, err
	}
	entry, err := newProvEntry(c, typ, name, claims, opts)
	if err != nil {
		return nil, err
	}
	raw, err := json.Marshal(entry)
	if err != nil {
		return nil, fmt.Errorf("encoding provisioner %q: %w", name, err)
	}
	return raw, nil
}

func newProvEntry(c *cli.Context, typ, name string, claims *provisioner.Claims, opts *provOptions) (any, error) {
	switch typ {
	case "JWK":
		return newJWKEntry(c, name, claims, opts)
	case "ACME":
		return newACMEEntry(c, name, claims, opts)
	case "X5C":
		return newX5CEntry(c, name, claims, opts)
	case "K8SSA":
		return newK8sSAEntry(c, name, claims, opts)
	case "SSHPOP":
		return &sshpopEntry{Type: typ, Name: name, Claims: claims}, nil
	case "OIDC":
		return newOIDCEntry(c, name, claims, opts)
	case "SCEP":
		return newSCEPEntry(c, name, claims, opts)
	case "AWS":
		return newAWSEntry(c, name, claims, opts)
	case "GCP":
		return newGCPEntry(c, name, claims, opts)
	case "AZURE":
		return newAzureEntry(c, name, claims, opts)
	case "NEBULA":
		return newNebulaEntry(c, name, claims, opts)
	}
	return nil, fmt.Errorf("provisioner type %s is not supported", typ)
}

// newJWKEntry builds a JWK provisioner entry:
// {"type":"JWK","name":...,"key":{...},"encryptedKey":"...","claims":{...},"options":{...}}.
func newJWKEntry(c *cli.Context, name string, claims *provisioner.Claims, opts *provOptions) (*jwkEntry, error) {
	create := c.Bool("create") || (c.String("public-key") == "" && c.String("private-key") == "")
	k, err := provJWKFromFlags(c, create)
	if err != nil {
		return nil, err
	}
	return &jwkEntry{Type: "JWK", Name: name, Key: k.pub, EncryptedKey: k.encrypted, Claims: claims, Options: opts}, nil
}
