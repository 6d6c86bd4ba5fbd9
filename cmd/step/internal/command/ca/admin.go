package ca

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/mayfly-pki/mayfly/api/wire"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/app"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/flags"
)

// adminCommand is `step ca admin`: the admins of a CA with remote
// management (authority.enableAdmin), through the admin API.
func adminCommand() *cli.Command {
	common := func(extra ...cli.Flag) []cli.Flag {
		return append(append(extra, flags.CaURL(), flags.Root(), flags.Context()), adminFlags()...)
	}
	return &cli.Command{
		Name:      "admin",
		Usage:     "create and manage the certificate authority admins",
		UsageText: "**step ca admin** <subcommand> [arguments] [global-flags] [subcommand-flags]",
		Subcommands: []*cli.Command{{
			Name:      "list",
			Usage:     "list all admins in the CA configuration",
			UsageText: "**step ca admin list** [**--super**] [**--provisioner**=<name>] [**--admin-cert**=<file>] [**--admin-key**=<file>] [**--admin-subject**=<subject>] [**--admin-provisioner**=<name>] [**--admin-password-file**=<file>] [**--ca-url**=<uri>] [**--root**=<file>] [**--context**=<name>]",
			Flags: common(&cli.BoolFlag{Name: "super", Usage: "Only super admins."},
				&cli.StringFlag{Name: "provisioner", Usage: "Only the admins of the provisioner `name`."}),
			Action: adminListAction,
		}, {
			Name:      "add",
			Usage:     "add an admin to the CA configuration",
			UsageText: "**step ca admin add** <subject> <provisioner> [**--super**] [admin flags]",
			Flags:     common(&cli.BoolFlag{Name: "super", Usage: "Give the admin super admin rights (it may manage admins)."}),
			Action:    adminAddAction,
		}, {
			Name:      "update",
			Usage:     "update an admin",
			UsageText: "**step ca admin update** <subject> [**--super**=true|false] [**--provisioner**=<name>] [admin flags]",
			Flags: common(&cli.BoolFlag{Name: "super", Usage: "Make the admin a super admin (--super=false: a plain admin)."},
				&cli.StringFlag{Name: "provisioner", Usage: "The provisioner `name` of the admin, when several admins have the subject."}),
			Action: adminUpdateAction,
		}, {
			Name:      "remove",
			Usage:     "remove an admin from the CA configuration",
			UsageText: "**step ca admin remove** <subject> [**--provisioner**=<name>] [admin flags]",
			Flags:     common(&cli.StringFlag{Name: "provisioner", Usage: "The provisioner `name` of the admin, when several admins have the subject."}),
			Action:    adminRemoveAction,
		}},
	}
}

// adminView is an admin with its provisioner's name and type.
type adminView struct {
	*wire.Admin
	provName, provType string
}

// getPages GETs path page after page (limit=100, each page's cursor) and
// calls page with each; page returns the page's next cursor, empty on the
// last one.
func getPages[T any](c *cli.Context, a *adminClient, path string, page func(*T) string) error {
	for cursor := ""; ; {
		var p T
		if err := a.call(c, http.MethodGet, path+"?limit=100&cursor="+url.QueryEscape(cursor), nil, &p); err != nil {
			return err
		}
		if cursor = page(&p); cursor == "" {
			return nil
		}
	}
}

// fetchAdmins returns every admin, following the pages, with provisioner
// names from GET /admin/provisioners.
func fetchAdmins(c *cli.Context, a *adminClient) ([]adminView, error) {
	provs := map[string]*wire.Provisioner{}
	if err := getPages(c, a, "/admin/provisioners", func(page *wire.AdminProvisionersResponse) string {
		for _, p := range page.Provisioners {
			provs[p.ID] = p
		}
		return page.NextCursor
	}); err != nil {
		return nil, err
	}
	var out []adminView
	if err := getPages(c, a, "/admin/admins", func(page *wire.AdminsResponse) string {
		for _, adm := range page.Admins {
			v := adminView{Admin: adm, provName: adm.ProvisionerID, provType: "unknown"}
			if p, ok := provs[adm.ProvisionerID]; ok {
				v.provName, v.provType = p.Name, p.Type
			}
			out = append(out, v)
		}
		return page.NextCursor
	}); err != nil {
		return nil, err
	}
	return out, nil
}

// printAdmins writes step's admin table.
func printAdmins(w io.Writer, list []adminView) {
	tw := tabwriter.NewWriter(w, 0, 8, 1, ' ', 0)
	fmt.Fprintln(tw, "SUBJECT\tPROVISIONER\tTYPE")
	for _, a := range list {
		fmt.Fprintf(tw, "%s\t%s (%s)\t%s\n", a.Subject, a.provName, a.provType, a.Type)
	}
	_ = tw.Flush()
}

func adminListAction(c *cli.Context) error {
	if err := app.CheckArgs(c, 0, 0); err != nil {
		return err
	}
	a, err := newAdminClient(c)
	if err != nil {
		return err
	}
	all, err := fetchAdmins(c, a)
	if err != nil {
		return err
	}
	var list []adminView
	for _, v := range all {
		if c.Bool("super") && v.Type != "SUPER_ADMIN" {
			continue
		}
		if p := c.String("provisioner"); p != "" && v.provName != p {
			continue
		}
		list = append(list, v)
	}
	printAdmins(c.App.Writer, list)
	return nil
}

func adminType(super bool) string {
	if super {
		return "SUPER_ADMIN"
	}
	return "ADMIN"
}

func adminAddAction(c *cli.Context) error {
	if err := app.CheckArgs(c, 2, 2); err != nil {
		return err
	}
	a, err := newAdminClient(c)
	if err != nil {
		return err
	}
	req := wire.CreateAdminRequest{Subject: c.Args().Get(0), Provisioner: c.Args().Get(1), Type: adminType(c.Bool("super"))}
	var created wire.Admin
	if err := a.call(c, http.MethodPost, "/admin/admins", req, &created); err != nil {
		return err
	}
	provType := "unknown"
	var p wire.Provisioner
	if a.call(c, http.MethodGet, "/admin/provisioners/"+url.PathEscape(req.Provisioner), nil, &p) == nil {
		provType = p.Type
	}
	printAdmins(c.App.Writer, []adminView{{Admin: &created, provName: req.Provisioner, provType: provType}})
	return nil
}

// findAdmin returns the one admin with subject (of --provisioner).
func findAdmin(c *cli.Context, a *adminClient, subject string) (*adminView, error) {
	all, err := fetchAdmins(c, a)
	if err != nil {
		return nil, err
	}
	var match []adminView
	for _, v := range all {
		if v.Subject == subject && (c.String("provisioner") == "" || v.provName == c.String("provisioner")) {
			match = append(match, v)
		}
	}
	switch len(match) {
	case 0:
		return nil, fmt.Errorf("admin with subject %s not found", subject)
	case 1:
		return &match[0], nil
	}
	return nil, errors.New("there are several admins with subject " + subject + ": use --provisioner to choose one")
}

func adminUpdateAction(c *cli.Context) error {
	if err := app.CheckArgs(c, 1, 1); err != nil {
		return err
	}
	if !c.IsSet("super") {
		return errors.New("nothing to update: use --super=true or --super=false")
	}
	a, err := newAdminClient(c)
	if err != nil {
		return err
	}
	v, err := findAdmin(c, a, c.Args().First())
	if err != nil {
		return err
	}
	var updated wire.Admin
	if err := a.call(c, http.MethodPatch, "/admin/admins/"+url.PathEscape(v.ID), wire.UpdateAdminRequest{Type: adminType(c.Bool("super"))}, &updated); err != nil {
		return err
	}
	printAdmins(c.App.Writer, []adminView{{Admin: &updated, provName: v.provName, provType: v.provType}})
	return nil
}

func adminRemoveAction(c *cli.Context) error {
	if err := app.CheckArgs(c, 1, 1); err != nil {
		return err
	}
	a, err := newAdminClient(c)
	if err != nil {
		return err
	}
	v, err := findAdmin(c, a, c.Args().First())
	if err != nil {
		return err
	}
	return a.call(c, http.MethodDelete, "/admin/admins/"+url.PathEscape(v.ID), nil, nil)
}
