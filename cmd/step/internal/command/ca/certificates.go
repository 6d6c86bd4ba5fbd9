package ca

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/urfave/cli/v2"

	"github.com/mayfly-pki/mayfly/api/wire"
	"github.com/mayfly-pki/mayfly/ca/client"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/app"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/flags"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/ui"
	"github.com/mayfly-pki/mayfly/internal/pemutil"
	"github.com/mayfly-pki/mayfly/provisioner"
)

// maxPageSize is the largest page GET /admin/certificates serves.
const maxPageSize = 1000

func certificatesCommand() *cli.Command {
	return &cli.Command{
		Name:  "certificates",
		Usage: "inspect the certificates the CA has issued",
		Subcommands: []*cli.Command{{
			Name:  "list",
			Usage: "list issued certificates (admin API)",
			UsageText: "step ca certificates list [--expiring-before <time|duration>] [--expiring-after <time|duration>]\n" +
				"   [--issued-by <provisioner>] [--subject <string>] [--revoked=true|false] [--format table|json|csv] [--limit <n>]\n" +
				"   [--provisioner <name>] [--provisioner-password-file <file>] [--ca-url <uri>] [--root <file>]",
			Description: "Lists the certificate records of the CA's database, following pages, with a new admin token " +
				"(a JWK provisioner token for https://<ca>/admin/certificates) for each page. --provisioner selects " +
				"the provisioner that signs the tokens; --issued-by filters by the provisioner that issued the certificates.",
			Flags: []cli.Flag{
				flags.CaURL(), flags.Root(), flags.Context(),
				&cli.StringFlag{Name: "expiring-before", Usage: "List certificates whose NotAfter is before this `time|duration` (RFC 3339 or e.g. 720h from now)."},
				&cli.StringFlag{Name: "expiring-after", Usage: "List certificates whose NotAfter is after this `time|duration`."},
				&cli.StringFlag{Name: "issued-by", Usage: "List certificates issued by the provisioner of this `name`."},
				&cli.StringFlag{Name: "subject", Usage: "List certificates whose common name or a SAN contains this `string` (case-insensitive)."},
				&cli.BoolFlag{Name: "revoked", Usage: "List only revoked certificates (--revoked=false: only unrevoked ones)."},
				&cli.StringFlag{Name: "format", Value: "table", Usage: "The output `format`: table, json or csv."},
				&cli.IntFlag{Name: "limit", Usage: "Print at most `n` certificates (0: all)."},
				&cli.StringFlag{Name: "provisioner", Aliases: []string{"issuer"}, Usage: "The JWK provisioner `name` that signs the admin tokens."},
				&cli.StringFlag{Name: "kid", Usage: "The provisioner `kid` to use."},
				&cli.StringFlag{Name: "key", Usage: "The private key `file` that signs the admin tokens (instead of the provisioner's encrypted key)."},
				flags.ProvisionerPasswordFile(),
				flags.PasswordFile("The path to the `file` with the password of the provisioner key."),
			},
			Action: certificatesListAction,
		}},
	}
}

func certificatesListAction(c *cli.Context) error {
	if err := app.CheckArgs(c, 0, 0); err != nil {
		return err
	}
	format := strings.ToLower(c.String("format"))
	switch format {
	case "table", "json", "csv":
	default:
		return fmt.Errorf("invalid value '%s' for flag '--format': use table, json or csv", c.String("format"))
	}
	limit := c.Int("limit")
	if limit < 0 {
		return fmt.Errorf("invalid value '%d' for flag '--limit': use a number >= 0", limit)
	}
	query, err := listQuery(c, time.Now())
	if err != nil {
		return err
	}
	cl, roots, err := newClient(c)
	if err != nil {
		return err
	}
	ctx, cancel := timeoutCtx(c)
	defer cancel()
	list, err := cl.Provisioners(ctx)
	if err != nil {
		return err
	}
	p, err := selectProvisioner(c, list)
	if err != nil {
		return err
	}
	ui.PrintSelected("Provisioner", fmt.Sprintf("%s (JWK) [kid: %s]", p.Name, p.kid()))
	key, err := loadProvisionerKey(ctx, c, cl, p, true)
	if err != nil {
		return err
	}
	certs, err := listAllCertificates(c, cl, key, p.Name, pemutil.Fingerprint(roots[0]), query, limit)
	if err != nil {
		return err
	}
	return printCertificates(os.Stdout, format, certs, time.Now())
}

// listQuery builds the filter query of GET /admin/certificates from the flags.
func listQuery(c *cli.Context, now time.Time) (url.Values, error) {
	q := url.Values{}
	for _, name := range []string{"expiring-before", "expiring-after"} {
		if v := c.String(name); v != "" {
			t, err := flags.ParseTime(name, v, now)
			if err != nil {
				return nil, err
			}
			q.Set(name, t.UTC().Format(time.RFC3339))
		}
	}
	if v := c.String("issued-by"); v != "" {
		q.Set("provisioner", v)
	}
	if v := c.String("subject"); v != "" {
		q.Set("subject", v)
	}
	if c.IsSet("revoked") {
		q.Set("revoked", strconv.FormatBool(c.Bool("revoked")))
	}
	return q, nil
}

// listAllCertificates follows nextCursor, minting a new admin token per page,
// until the listing ends or limit (> 0) certificates were read.
func listAllCertificates(c *cli.Context, cl *client.Client, key *jose.JSONWebKey, issuer, rootSHA string, query url.Values, limit int) ([]wire.CertificateInfo, error) {
	aud := cl.URL().String() + provisioner.AdminCertificatesPath
	var all []wire.CertificateInfo
	for {
		page := maxPageSize
		if limit > 0 {
			page = min(page, limit-len(all))
		}
		query.Set("limit", strconv.Itoa(page))
		tok, err := signToken(key, issuer, aud, rootSHA, tokenRequest{subject: "admin"})
		if err != nil {
			return nil, err
		}
		ctx, cancel := timeoutCtx(c)
		r, err := cl.ListCertificates(ctx, tok, query)
		cancel()
		if err != nil {
			return nil, err
		}
		all = append(all, r.Certificates...)
		if r.NextCursor == "" || (limit > 0 && len(all) >= limit) {
			return all, nil
		}
		query.Set("cursor", r.NextCursor)
	}
}

// status is what the STATUS column shows.
func status(ci wire.CertificateInfo, now time.Time) string {
	switch {
	case ci.Revoked:
		return "Revoked"
	case now.After(ci.NotAfter):
		return "Expired"
	}
	return "Valid"
}

// printCertificates writes certs as a table, a JSON array or CSV with a header.
func printCertificates(w io.Writer, format string, certs []wire.CertificateInfo, now time.Time) error {
	switch format {
	case "json":
		if certs == nil {
			certs = []wire.CertificateInfo{}
		}
		b, err := json.MarshalIndent(certs, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	case "csv":
		cw := csv.NewWriter(w)
		_ = cw.Write([]string{"serial", "subject", "sans", "not_before", "not_after", "provisioner", "status", "revoked_at", "reason_code"})
		for _, ci := range certs {
			revokedAt, reason := "", ""
			if ci.RevokedAt != nil {
				revokedAt = ci.RevokedAt.UTC().Format(time.RFC3339)
			}
			if ci.ReasonCode != nil {
				reason = strconv.Itoa(*ci.ReasonCode)
			}
			_ = cw.Write([]string{ci.Serial, ci.Subject, strings.Join(ci.SANs, " "), ci.NotBefore.UTC().Format(time.RFC3339),
				ci.NotAfter.UTC().Format(time.RFC3339), ci.Provisioner, status(ci, now), revokedAt, reason})
		}
		cw.Flush()
		return cw.Error()
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SERIAL\tSUBJECT\tNOT AFTER\tPROVISIONER\tSTATUS")
	for _, ci := range certs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", ci.Serial, ci.Subject, ci.NotAfter.UTC().Format(time.RFC3339), ci.Provisioner, status(ci, now))
	}
	return tw.Flush()
}
