package ca

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/mayfly-pki/mayfly/api/wire"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/app"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/flags"
	"github.com/mayfly-pki/mayfly/internal/fileutil"
)

// provisionerWebhookCommand is `step ca provisioner webhook`: the webhooks
// of provisioners stored by a CA with remote management, through the
// admin API (/admin/provisioners/{prov}/webhooks).
func provisionerWebhookCommand() *cli.Command {
	hookFlags := func(extra ...cli.Flag) []cli.Flag {
		fs := append(extra,
			&cli.StringFlag{Name: "url", Usage: "The `url` of the webhook server."},
			&cli.StringFlag{Name: "kind", Usage: "The `kind` of webhook: ENRICHING or AUTHORIZING."},
			&cli.StringFlag{Name: "cert-type", Usage: "The `type` of certificate the webhook applies to: X509, SSH or ALL."},
			&cli.StringFlag{Name: "bearer-token-file", Usage: "The `file` with the token the CA sends as Authorization: Bearer."},
			&cli.StringFlag{Name: "basic-auth-username", Usage: "The `username` the CA sends with basic auth."},
			&cli.StringFlag{Name: "basic-auth-password-file", Usage: "The `file` with the basic auth password."},
			&cli.BoolFlag{Name: "disable-tls-client-auth", Usage: "Do not present a client certificate to the webhook server."},
			flags.CaURL(), flags.Root(), flags.Context())
		return append(fs, adminFlags()...)
	}
	return &cli.Command{
		Name:  "webhook",
		Usage: "create and manage the webhooks of a provisioner",
		Subcommands: []*cli.Command{{
			Name:      "add",
			Usage:     "add a webhook to a provisioner",
			UsageText: "**step ca provisioner webhook add** <provisioner_name> <webhook_name> **--url**=<url> [**--kind**=<kind>] [**--cert-type**=<type>] [**--bearer-token-file**=<file>] [**--basic-auth-username**=<name> **--basic-auth-password-file**=<file>] [**--disable-tls-client-auth**] [admin flags]",
			Flags:     hookFlags(),
			Action:    webhookAddAction,
		}, {
			Name:      "update",
			Usage:     "update a webhook of a provisioner",
			UsageText: "**step ca provisioner webhook update** <provisioner_name> <webhook_name> [**--url**=<url>] [**--kind**=<kind>] [**--cert-type**=<type>] [auth flags] [admin flags]",
			Flags:     hookFlags(),
			Action:    webhookUpdateAction,
		}, {
			Name:      "remove",
			Usage:     "remove a webhook from a provisioner",
			UsageText: "**step ca provisioner webhook remove** <provisioner_name> <webhook_name> [admin flags]",
			Flags:     append([]cli.Flag{flags.CaURL(), flags.Root(), flags.Context()}, adminFlags()...),
			Action:    webhookRemoveAction,
		}},
	}
}

// applyWebhookFlags sets the fields of w given on the command line.
func applyWebhookFlags(c *cli.Context, w *wire.Webhook) error {
	if c.IsSet("url") {
		w.URL = c.String("url")
	}
	if c.IsSet("kind") {
		w.Kind = strings.ToUpper(c.String("kind"))
	}
	if c.IsSet("cert-type") {
		w.CertType = strings.ToUpper(c.String("cert-type"))
	}
	if c.IsSet("disable-tls-client-auth") {
		w.DisableTLSClientAuth = c.Bool("disable-tls-client-auth")
	}
	if f := c.String("bearer-token-file"); f != "" {
		tok, err := fileutil.ReadPasswordFile(f)
		if err != nil {
			return err
		}
		w.BearerToken, w.BasicAuth = &wire.LinkedBearerToken{BearerToken: string(tok)}, nil
	}
	if user := c.String("basic-auth-username"); user != "" {
		f := c.String("basic-auth-password-file")
		if f == "" {
			return errors.New("flag --basic-auth-username requires --basic-auth-password-file")
		}
		pw, err := fileutil.ReadPasswordFile(f)
		if err != nil {
			return err
		}
		w.BasicAuth, w.BearerToken = &wire.LinkedBasicAuth{Username: user, Password: string(pw)}, nil
	}
	return nil
}

func webhookPath(prov string) string {
	return "/admin/provisioners/" + url.PathEscape(prov) + "/webhooks"
}

func webhookAddAction(c *cli.Context) error {
	if err := app.CheckArgs(c, 2, 2); err != nil {
		return err
	}
	w := &wire.Webhook{Name: c.Args().Get(1), Kind: "ENRICHING", CertType: "ALL"}
	if err := applyWebhookFlags(c, w); err != nil {
		return err
	}
	if w.URL == "" {
		return errors.New("flag --url is required")
	}
	a, err := newAdminClient(c)
	if err != nil {
		return err
	}
	var created wire.Webhook
	if err := a.call(c, http.MethodPost, webhookPath(c.Args().Get(0)), w, &created); err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "Webhook ID: %s\nWebhook Secret: %s\n", created.ID, created.Secret)
	return nil
}

func webhookUpdateAction(c *cli.Context) error {
	if err := app.CheckArgs(c, 2, 2); err != nil {
		return err
	}
	prov, name := c.Args().Get(0), c.Args().Get(1)
	a, err := newAdminClient(c)
	if err != nil {
		return err
	}
	var p wire.Provisioner
	if err := a.call(c, http.MethodGet, "/admin/provisioners/"+url.PathEscape(prov), nil, &p); err != nil {
		return err
	}
	var w *wire.Webhook
	for _, h := range p.Webhooks {
		if h.Name == name {
			w = h
		}
	}
	if w == nil {
		return fmt.Errorf("provisioner %s has no webhook with the name %s", prov, name)
	}
	if err := applyWebhookFlags(c, w); err != nil {
		return err
	}
	return a.call(c, http.MethodPut, webhookPath(prov)+"/"+url.PathEscape(name), w, &wire.Webhook{})
}

func webhookRemoveAction(c *cli.Context) error {
	if err := app.CheckArgs(c, 2, 2); err != nil {
		return err
	}
	a, err := newAdminClient(c)
	if err != nil {
		return err
	}
	return a.call(c, http.MethodDelete, webhookPath(c.Args().Get(0))+"/"+url.PathEscape(c.Args().Get(1)), nil, nil)
}
