package ca

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/mayfly-pki/mayfly/cmd/step/internal/app"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/flags"
)

// acmeCommand is `step ca acme`: ACME external account binding keys,
// through the admin API (/admin/acme/eab), as step's.
func acmeCommand() *cli.Command {
	common := func() []cli.Flag {
		return append([]cli.Flag{flags.CaURL(), flags.Root(), flags.Context()}, adminFlags()...)
	}
	return &cli.Command{
		Name:      "acme",
		Usage:     "manage ACME settings",
		UsageText: "**step ca acme** <subcommand> [arguments] [global-flags] [subcommand-flags]",
		Subcommands: []*cli.Command{{
			Name:      "eab",
			Usage:     "create and manage ACME External Account Binding Keys",
			UsageText: "**step ca acme eab** <subcommand> [arguments] [global-flags] [subcommand-flags]",
			Subcommands: []*cli.Command{{
				Name:      "add",
				Usage:     "add ACME External Account Binding Key",
				UsageText: "**step ca acme eab add** <provisioner> [<eab-key-reference>] [admin flags]",
				Flags:     common(),
				Action:    eabAddAction,
			}, {
				Name:      "list",
				Usage:     "list all ACME External Account Binding Keys",
				UsageText: "**step ca acme eab list** <provisioner> [<eab-key-reference>] [admin flags]",
				Flags:     common(),
				Action:    eabListAction,
			}, {
				Name:      "remove",
				Usage:     "remove an ACME EAB Key from the CA",
				UsageText: "**step ca acme eab remove** <provisioner> <eab-key-id> [admin flags]",
				Flags:     common(),
				Action:    eabRemoveAction,
			}},
		}},
	}
}

// eabKey is the admin API's EAB key (linkedca's EABKey in JSON).
type eabKey struct {
	ID          string     `json:"id"`
	HmacKey     string     `json:"hmacKey"`
	Provisioner string     `json:"provisioner"`
	Reference   string     `json:"reference"`
	Account     string     `json:"account"`
	CreatedAt   time.Time  `json:"createdAt"`
	BoundAt     *time.Time `json:"boundAt"`
}

func eabAddAction(c *cli.Context) error {
	if err := app.CheckArgs(c, 1, 2); err != nil {
		return err
	}
	a, err := newAdminClient(c)
	if err != nil {
		return err
	}
	var k eabKey
	body := map[string]string{"reference": c.Args().Get(1)}
	if err := a.call(c, http.MethodPost, "/admin/acme/eab/"+url.PathEscape(c.Args().Get(0)), body, &k); err != nil {
		return err
	}
	raw, err := base64.StdEncoding.DecodeString(k.HmacKey)
	if err != nil {
		return fmt.Errorf("the CA returned an invalid key: %w", err)
	}
	w := tabwriter.NewWriter(c.App.Writer, 0, 8, 2, ' ', 0)
	fmt.Fprintln(w, "PROVISIONER\tKEY ID\tKEY (base64, raw url encoded)\tREFERENCE")
	fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", k.Provisioner, k.ID, base64.RawURLEncoding.EncodeToString(raw), k.Reference)
	return w.Flush()
}

func eabListAction(c *cli.Context) error {
	if err := app.CheckArgs(c, 1, 2); err != nil {
		return err
	}
	a, err := newAdminClient(c)
	if err != nil {
		return err
	}
	path := "/admin/acme/eab/" + url.PathEscape(c.Args().Get(0))
	if ref := c.Args().Get(1); ref != "" {
		path += "/" + url.PathEscape(ref)
	}
	var resp struct {
		EAKs []eabKey `json:"eaks"`
	}
	if err := a.call(c, http.MethodGet, path, nil, &resp); err != nil {
		return err
	}
	w := tabwriter.NewWriter(c.App.Writer, 0, 8, 2, ' ', 0)
	fmt.Fprintln(w, "KEY ID\tPROVISIONER\tKEY (masked)\tREFERENCE\tACCOUNT\tCREATED AT\tBOUND AT")
	for _, k := range resp.EAKs {
		bound := "-"
		if k.BoundAt != nil {
			bound = k.BoundAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(w, "%s\t%s\t*****\t%s\t%s\t%s\t%s\n", k.ID, k.Provisioner, k.Reference, k.Account,
			k.CreatedAt.UTC().Format(time.RFC3339), bound)
	}
	return w.Flush()
}

func eabRemoveAction(c *cli.Context) error {
	if err := app.CheckArgs(c, 2, 2); err != nil {
		return err
	}
	a, err := newAdminClient(c)
	if err != nil {
		return err
	}
	path := "/admin/acme/eab/" + url.PathEscape(c.Args().Get(0)) + "/" + url.PathEscape(c.Args().Get(1))
	if err := a.call(c, http.MethodDelete, path, nil, nil); err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "Key %s deleted.\n", c.Args().Get(1))
	return nil
}
