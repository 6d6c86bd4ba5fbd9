package ca

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/mayfly-pki/mayfly/api/wire"
	"github.com/mayfly-pki/mayfly/ca/client"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/app"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/flags"
)

// policyCommand is `step ca policy`: certificate issuance policies of the
// authority, of a provisioner and of an ACME EAB key, through the admin API
// (/admin/policy, /admin/provisioners/{name}/policy,
// /admin/acme/policy/{prov}/reference|key/{id}), as step's. Each change
// reads the policy, edits it and writes it back (POST when there is none,
// PUT otherwise), then prints the policy the CA answered.
func policyCommand() *cli.Command {
	return &cli.Command{
		Name:      "policy",
		Usage:     "manage certificate issuance policies",
		UsageText: "**step ca policy** <subcommand> [arguments] [global-flags] [subcommand-flags]",
		Subcommands: []*cli.Command{
			policyScopeCommand(policyAuthority, "manage certificate issuance policies for authorities"),
			policyScopeCommand(policyProvisioner, "manage certificate issuance policies for provisioners"),
			policyScopeCommand(policyACME, "manage certificate issuance policies for ACME EAB keys"),
		},
	}
}

// policyScope is the level a `step ca policy` command works on.
type policyScope string

const (
	policyAuthority   policyScope = "authority"
	policyProvisioner policyScope = "provisioner"
	policyACME        policyScope = "acme"
)

// policyFlags are the flags of every leaf command, as step's.
func policyFlags(extra ...cli.Flag) []cli.Flag {
	fl := append(extra,
		&cli.StringFlag{Name: "provisioner", Aliases: []string{"issuer"}, Usage: "The provisioner `name`."},
		&cli.StringFlag{Name: "eab-key-id", Usage: "An ACME EAB Key `ID`."},
		&cli.StringFlag{Name: "eab-key-reference", Usage: "An ACME EAB Key `reference`."},
	)
	fl = append(fl, adminFlags()...)
	return append(fl, flags.CaURL(), flags.Root(), flags.Context())
}

func policyScopeCommand(scope policyScope, usage string) *cli.Command {
	prefix := "step ca policy " + string(scope)
	leaf := func(name, usage, args string, action func(*cli.Context, policyScope) error, extra ...cli.Flag) *cli.Command {
		return &cli.Command{
			Name:      name,
			Usage:     usage,
			UsageText: "**" + prefix + "** " + args + " [**--provisioner**=<name>] [**--eab-key-id**=<eab-key-id>] [**--eab-key-reference**=<eab-key-reference>] [admin flags] [**--ca-url**=<uri>] [**--root**=<file>] [**--context**=<name>]",
			Flags:     policyFlags(extra...),
			Action:    func(c *cli.Context) error { return action(c, scope) },
		}
	}
	removeFlag := func(what string) cli.Flag {
		return &cli.BoolFlag{Name: "remove", Usage: "removes the provided " + what + " from the policy instead of adding them"}
	}
	names := func(kind policyKind) []*cli.Command {
		var out []*cli.Command
		for _, n := range policyNameTypes {
			if !slices.Contains(n.kinds, kind.cert) {
				continue
			}
			n := n
			out = append(out, leaf(n.name, "add or remove "+n.what, kind.path+" "+n.name+" <"+n.arg+">... [**--remove**]",
				func(c *cli.Context, s policyScope) error { return policyNamesAction(c, s, kind, n) }, removeFlag(n.what)))
		}
		return out
	}
	allowDeny := func(cert, path string) []*cli.Command {
		return []*cli.Command{{
			Name:        "allow",
			Usage:       "manage allowed names",
			UsageText:   "**" + prefix + " " + path + " allow** <subcommand> [arguments] [global-flags] [subcommand-flags]",
			Subcommands: names(policyKind{cert: cert, allow: true, path: path + " allow"}),
		}, {
			Name:        "deny",
			Usage:       "manage denied names",
			UsageText:   "**" + prefix + " " + path + " deny** <subcommand> [arguments] [global-flags] [subcommand-flags]",
			Subcommands: names(policyKind{cert: cert, allow: false, path: path + " deny"}),
		}}
	}
	wildcards := func(allow bool) func(*cli.Context, policyScope) error {
		return func(c *cli.Context, s policyScope) error {
			return policyEditAction(c, s, func(p *wire.Policy) error {
				p.X509.AllowWildcardNames = allow
				return nil
			})
		}
	}
	cmd := &cli.Command{
		Name:      string(scope),
		Usage:     usage,
		UsageText: "**" + prefix + "** <subcommand> [arguments] [global-flags] [subcommand-flags]",
		Subcommands: []*cli.Command{
			leaf("view", "view current certificate issuance policy", "", policyViewAction),
			leaf("remove", "remove certificate issuance policy", "", policyRemoveAction),
			{
				Name:      "x509",
				Usage:     "manage X.509 certificate issuance policies",
				UsageText: "**" + prefix + " x509** <subcommand> [arguments] [global-flags] [subcommand-flags]",
				Subcommands: append(allowDeny("x509", "x509"), &cli.Command{
					Name:      "wildcards",
					Usage:     "manage wildcard name settings for X.509 certificate issuance policies",
					UsageText: "**" + prefix + " x509 wildcards** <subcommand> [arguments] [global-flags] [subcommand-flags]",
					Subcommands: []*cli.Command{
						leaf("allow", "allow wildcard names in X.509 certificate issuance policies", "x509 wildcards allow", wildcards(true)),
						leaf("deny", "deny wildcard names in X.509 certificate issuance policies", "x509 wildcards deny", wildcards(false)),
					},
				}),
			},
			{
				Name:      "ssh",
				Usage:     "manage SSH certificate issuance policies",
				UsageText: "**" + prefix + " ssh** <subcommand> [arguments] [global-flags] [subcommand-flags]",
				Subcommands: []*cli.Command{{
					Name:        "host",
					Usage:       "manage SSH host certificate issuance policies",
					UsageText:   "**" + prefix + " ssh host** <subcommand> [arguments] [global-flags] [subcommand-flags]",
					Subcommands: allowDeny("host", "ssh host"),
				}, {
					Name:        "user",
					Usage:       "manage SSH user certificate issuance policies",
					UsageText:   "**" + prefix + " ssh user** <subcommand> [arguments] [global-flags] [subcommand-flags]",
					Subcommands: allowDeny("user", "ssh user"),
				}},
			},
		},
	}
	if scope == policyACME {
		// ACME policies are X.509 only, as step's.
		cmd.Subcommands = cmd.Subcommands[:3]
	}
	return cmd
}

// policyKind is the list a name command edits: X.509, SSH host or SSH user
// names, allowed or denied.
type policyKind struct {
	cert  string // "x509", "host" or "user"
	allow bool
	path  string // for usage texts
}

// policyNameType is one name command (cn, dns, …) and the lists it has.
type policyNameType struct {
	name, what, arg string
	kinds           []string
}

var policyNameTypes = []policyNameType{
	{"cn", "common names", "name", []string{"x509"}},
	{"dns", "DNS domains", "domain", []string{"x509", "host"}},
	{"email", "email addresses", "email", []string{"x509", "user"}},
	{"ip", "IP addresses or ranges", "address", []string{"x509", "host"}},
	{"uri", "URI domains", "uri domain", []string{"x509"}},
	{"principal", "principals", "principal", []string{"host", "user"}},
}

// policyPath returns the admin API path of the policy of scope, from
// --provisioner and --eab-key-id / --eab-key-reference.
func policyPath(c *cli.Context, scope policyScope) (string, error) {
	prov := c.String("provisioner")
	switch scope {
	case policyAuthority:
		return "/admin/policy", nil
	case policyProvisioner:
		if prov == "" {
			return "", errors.New("flag '--provisioner' is required")
		}
		return "/admin/provisioners/" + url.PathEscape(prov) + "/policy", nil
	default:
		if prov == "" {
			return "", errors.New("flag '--provisioner' is required")
		}
		ref, id := c.String("eab-key-reference"), c.String("eab-key-id")
		switch {
		case id != "":
			return "/admin/acme/policy/" + url.PathEscape(prov) + "/key/" + url.PathEscape(id), nil
		case ref != "":
			return "/admin/acme/policy/" + url.PathEscape(prov) + "/reference/" + url.PathEscape(ref), nil
		}
		return "", errors.New("flag '--eab-key-reference' or '--eab-key-id' is required")
	}
}

// noPolicy reports whether err is the CA's 404 for a policy that does not
// exist (step-ca's "… policy does not exist"), not for an unknown
// provisioner or EAB key.
func noPolicy(err error) bool {
	var ae *client.APIError
	return errors.As(err, &ae) && ae.Status == http.StatusNotFound && strings.HasSuffix(ae.Message, "policy does not exist")
}

// printPolicy writes p as step does: its JSON indented by three spaces.
func printPolicy(c *cli.Context, p *wire.Policy) error {
	b, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("error marshaling policy: %w", err)
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, b, "", "   "); err != nil {
		return fmt.Errorf("error indenting policy JSON representation: %w", err)
	}
	fmt.Fprintln(c.App.Writer, buf.String())
	return nil
}

func policyViewAction(c *cli.Context, scope policyScope) error {
	if err := app.CheckArgs(c, 0, 0); err != nil {
		return err
	}
	path, err := policyPath(c, scope)
	if err != nil {
		return err
	}
	a, err := newAdminClient(c)
	if err != nil {
		return err
	}
	var p wire.Policy
	if err := a.call(c, http.MethodGet, path, nil, &p); err != nil {
		if noPolicy(err) {
			fmt.Fprintln(c.App.Writer, "certificate issuance policy does not exist")
			return nil
		}
		return fmt.Errorf("error retrieving policy: %w", err)
	}
	return printPolicy(c, &p)
}

func policyRemoveAction(c *cli.Context, scope policyScope) error {
	if err := app.CheckArgs(c, 0, 0); err != nil {
		return err
	}
	path, err := policyPath(c, scope)
	if err != nil {
		return err
	}
	a, err := newAdminClient(c)
	if err != nil {
		return err
	}
	if err := a.call(c, http.MethodDelete, path, nil, nil); err != nil {
		if noPolicy(err) {
			return errors.New("certificate issuance policy does not exist")
		}
		return fmt.Errorf("error deleting certificate issuance policy: %w", err)
	}
	fmt.Fprintln(c.App.Writer, "policy deleted")
	return nil
}

// policyNamesAction adds the arguments to, or with --remove removes them
// from, the list of kind and type n.
func policyNamesAction(c *cli.Context, scope policyScope, kind policyKind, n policyNameType) error {
	if c.NArg() == 0 {
		return fmt.Errorf("not enough positional arguments were provided in '%s'", c.Command.HelpName)
	}
	args, remove := c.Args().Slice(), c.Bool("remove")
	return policyEditAction(c, scope, func(p *wire.Policy) error {
		list := policyList(p, kind, n.name)
		if list == nil {
			return fmt.Errorf("SSH %s policy does not support %s", kind.cert, n.what)
		}
		if remove {
			*list = slices.DeleteFunc(*list, func(s string) bool { return slices.Contains(args, s) })
		} else {
			*list = append(*list, args...)
		}
		return nil
	})
}

// policyList returns the list of p that kind and name type name edit, the
// parts of p it lives in made; nil when the kind has no such list.
func policyList(p *wire.Policy, kind policyKind, name string) *[]string {
	if kind.cert == "x509" {
		if p.X509 == nil {
			p.X509 = &wire.LinkedX509Policy{}
		}
		names := &p.X509.Deny
		if kind.allow {
			names = &p.X509.Allow
		}
		if *names == nil {
			*names = &wire.LinkedX509Names{}
		}
		switch n := *names; name {
		case "cn":
			return &n.CommonNames
		case "dns":
			return &n.DNS
		case "email":
			return &n.Emails
		case "ip":
			return &n.IPs
		case "uri":
			return &n.URIs
		}
		return nil
	}
	if p.SSH == nil {
		p.SSH = &wire.LinkedSSHPolicy{}
	}
	rules := &p.SSH.User
	if kind.cert == "host" {
		rules = &p.SSH.Host
	}
	if *rules == nil {
		*rules = &wire.LinkedSSHRules{}
	}
	names := &(*rules).Deny
	if kind.allow {
		names = &(*rules).Allow
	}
	if *names == nil {
		*names = &wire.LinkedSSHNames{}
	}
	n := *names
	switch {
	case name == "principal":
		return &n.Principals
	case name == "dns" && kind.cert == "host":
		return &n.DNS
	case name == "ip" && kind.cert == "host":
		return &n.IPs
	case name == "email" && kind.cert == "user":
		return &n.Emails
	}
	return nil
}

// policyEditAction reads the policy of scope, applies edit, and writes the
// result back: POST when the CA has none, PUT otherwise. A policy left
// without any rule is deleted (an empty policy allows everything, as no
// policy does). It prints the policy the CA answered.
func policyEditAction(c *cli.Context, scope policyScope, edit func(*wire.Policy) error) error {
	path, err := policyPath(c, scope)
	if err != nil {
		return err
	}
	a, err := newAdminClient(c)
	if err != nil {
		return err
	}
	var p wire.Policy
	exists := true
	if err := a.call(c, http.MethodGet, path, nil, &p); err != nil {
		if !noPolicy(err) {
			return fmt.Errorf("error retrieving policy: %w", err)
		}
		exists, p = false, wire.Policy{}
	}
	if err := edit(&p); err != nil {
		return err
	}
	normalizePolicy(&p)
	if policyEmpty(&p) {
		if exists {
			if err := a.call(c, http.MethodDelete, path, nil, nil); err != nil {
				return fmt.Errorf("error updating policy: %w", err)
			}
		}
		return printPolicy(c, &wire.Policy{})
	}
	method := http.MethodPut
	if !exists {
		method = http.MethodPost
	}
	var out wire.Policy
	if err := a.call(c, method, path, &p, &out); err != nil {
		if method == http.MethodPost {
			return fmt.Errorf("error creating policy: %w", err)
		}
		return fmt.Errorf("error updating policy: %w", err)
	}
	return printPolicy(c, &out)
}

// normalizePolicy removes duplicate values (keeping the first) and the
// parts left empty.
func normalizePolicy(p *wire.Policy) {
	dedup := func(l []string) []string {
		var out []string
		for _, s := range l {
			if !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
		return out
	}
	x509Names := func(n *wire.LinkedX509Names) *wire.LinkedX509Names {
		if n == nil {
			return nil
		}
		n.CommonNames, n.DNS, n.Emails, n.IPs, n.URIs = dedup(n.CommonNames), dedup(n.DNS), dedup(n.Emails), dedup(n.IPs), dedup(n.URIs)
		if len(n.CommonNames)+len(n.DNS)+len(n.Emails)+len(n.IPs)+len(n.URIs) == 0 {
			return nil
		}
		return n
	}
	sshNames := func(n *wire.LinkedSSHNames) *wire.LinkedSSHNames {
		if n == nil {
			return nil
		}
		n.DNS, n.Emails, n.IPs, n.Principals = dedup(n.DNS), dedup(n.Emails), dedup(n.IPs), dedup(n.Principals)
		if len(n.DNS)+len(n.Emails)+len(n.IPs)+len(n.Principals) == 0 {
			return nil
		}
		return n
	}
	sshRules := func(r *wire.LinkedSSHRules) *wire.LinkedSSHRules {
		if r == nil {
			return nil
		}
		r.Allow, r.Deny = sshNames(r.Allow), sshNames(r.Deny)
		if r.Allow == nil && r.Deny == nil {
			return nil
		}
		return r
	}
	if x := p.X509; x != nil {
		x.Allow, x.Deny = x509Names(x.Allow), x509Names(x.Deny)
		if x.Allow == nil && x.Deny == nil && !x.AllowWildcardNames {
			p.X509 = nil
		}
	}
	if s := p.SSH; s != nil {
		s.Host, s.User = sshRules(s.Host), sshRules(s.User)
		if s.Host == nil && s.User == nil {
			p.SSH = nil
		}
	}
}

func policyEmpty(p *wire.Policy) bool { return p.X509 == nil && p.SSH == nil }
