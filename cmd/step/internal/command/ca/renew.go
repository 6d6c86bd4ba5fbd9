package ca

import (
	"context"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/mayfly-pki/mayfly/api/wire"
	"github.com/mayfly-pki/mayfly/ca/client"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/app"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/flags"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/ui"
	mjose "github.com/mayfly-pki/mayfly/internal/jose"
	"github.com/mayfly-pki/mayfly/internal/pemutil"
	"github.com/mayfly-pki/mayfly/provisioner/token"
)

// renewIssuer is the iss of renew tokens (wire-spec §4.6).
const renewIssuer = "step-ca-client/1.0"

func renewCommand() *cli.Command {
	return &cli.Command{
		Name:      "renew",
		Usage:     "renew a valid certificate",
		UsageText: "step ca renew <crt-file> <key-file> [--mtls=false] [--out <file>] [--expires-in <duration>] [--force]",
		ArgsUsage: "<crt-file> <key-file>",
		Flags: append([]cli.Flag{
			flags.CaURL(), flags.Root(), flags.Context(), flags.Force(),
			&cli.BoolFlag{Name: "mtls", Value: true, Usage: "Use mTLS to renew the certificate (--mtls=false uses a renew token)."},
			&cli.StringFlag{Name: "out", Aliases: []string{"output-file"}, Usage: "The new certificate `file` path (default: the input)."},
			flags.ExpiresIn("Renew only when the certificate expires within this `duration` (or percentage of its lifetime, e.g. 30%)."),
			flags.PasswordFile("The path to the `file` containing the password to decrypt the private key."),
			flags.Offline(),
		}, daemonFlags("renew-period")...),
		Action: renewAction,
	}
}

// identity is a certificate chain and its key, read from files.
type identity struct {
	chain []*x509.Certificate
	key   crypto.Signer
}

func (id *identity) leaf() *x509.Certificate { return id.chain[0] }

func (id *identity) tlsCertificate() *tls.Certificate {
	tc := &tls.Certificate{PrivateKey: id.key, Leaf: id.chain[0]}
	for _, c := range id.chain {
		tc.Certificate = append(tc.Certificate, c.Raw)
	}
	return tc
}

func readIdentity(c *cli.Context, crtFile, keyFile string) (*identity, error) {
	chain, err := pemutil.ReadCertificates(crtFile)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("error reading key: %w", err)
	}
	var pass []byte
	if pemutil.IsEncrypted(data) {
		if pass, err = ui.ReadPassword(ui.PasswordFlag(c, "password-file"), fmt.Sprintf("Please enter the password to decrypt %s:", keyFile)); err != nil {
			return nil, err
		}
	}
	key, err := pemutil.ParsePrivateKey(data, pass)
	if err != nil {
		return nil, fmt.Errorf("error reading %s: %w", keyFile, err)
	}
	type equaler interface{ Equal(crypto.PublicKey) bool }
	if pk, ok := chain[0].PublicKey.(equaler); !ok || !pk.Equal(key.Public()) {
		return nil, fmt.Errorf("the private key %s does not match the certificate %s", keyFile, crtFile)
	}
	return &identity{chain: chain, key: key}, nil
}

// needsRenewal applies --expires-in (a duration or a percentage of the
// lifetime) with step's jitter of up to 1/20 of the threshold.
func needsRenewal(leaf *x509.Certificate, expiresIn string, now time.Time) (bool, error) {
	if expiresIn == "" {
		return true, nil
	}
	d, err := parseExpiresIn(expiresIn, leaf)
	if err != nil {
		return false, err
	}
	jitter := time.Duration(0)
	if d > 20 {
		jitter = time.Duration(rand.Int64N(int64(d / 20)))
	}
	return leaf.NotAfter.Sub(now) <= d+jitter, nil
}

func parseExpiresIn(s string, leaf *x509.Certificate) (time.Duration, error) {
	if n := len(s); n > 1 && s[n-1] == '%' {
		var pct float64
		if _, err := fmt.Sscanf(s[:n-1], "%g", &pct); err != nil || pct < 0 || pct > 100 {
			return 0, fmt.Errorf("invalid value '%s' for flag '--expires-in'", s)
		}
		life := leaf.NotAfter.Sub(leaf.NotBefore)
		return time.Duration(float64(life) * pct / 100), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid value '%s' for flag '--expires-in': %w", s, err)
	}
	return d, nil
}

func renewAction(c *cli.Context) error {
	if err := app.CheckArgs(c, 2, 2); err != nil {
		return err
	}
	crtFile, keyFile := c.Args().Get(0), c.Args().Get(1)
	out := c.String("out")
	if out == "" {
		out = crtFile
	}
	id, err := readIdentity(c, crtFile, keyFile)
	if err != nil {
		return err
	}
	dopts, err := checkDaemonFlags(c, "renew-period", id.leaf())
	if err != nil {
		return err
	}
	cl, _, err := newClient(c)
	if err != nil {
		return err
	}
	if c.Bool("daemon") {
		r := func(ctx context.Context) (*x509.Certificate, error) {
			cur, err := readIdentity(c, out, keyFile)
			if err != nil {
				return nil, err
			}
			return renewAndWrite(c, cl, cur, out)
		}
		return newDaemon(dopts, r, os.Stdout, os.Stderr).run(c.Context, id.leaf())
	}
	now := time.Now()
	due, err := needsRenewal(id.leaf(), c.String("expires-in"), now)
	if err != nil {
		return err
	}
	if !due {
		ui.Printf("certificate not renewed: expires in %s\n", id.leaf().NotAfter.Sub(now).Round(time.Second))
		return nil
	}
	if err := ui.CheckOverwrite(out, c.Bool("force")); err != nil {
		return err
	}
	if _, err := renewAndWrite(c, cl, id, out); err != nil {
		return err
	}
	dopts.afterRenewalOnce()
	ui.Printf("Your certificate has been saved in %s.\n", out)
	return nil
}

// renewAndWrite renews id and writes the new chain to out atomically (0600).
func renewAndWrite(c *cli.Context, cl *client.Client, id *identity, out string) (*x509.Certificate, error) {
	now := time.Now()
	resp, err := renew(c, cl, id, now)
	if err != nil {
		var apiErr *client.APIError
		if errors.As(err, &apiErr) && apiErr.Status == http.StatusUnauthorized && now.After(id.leaf().NotAfter) {
			return nil, fmt.Errorf("the certificate expired on %s and the CA refused to renew it (its provisioner may not allow renewal after expiry): get a new one with `step ca certificate`",
				id.leaf().NotAfter.UTC().Format(time.RFC3339))
		}
		return nil, err
	}
	chain := chainPEM(resp)
	certs, err := pemutil.ParseCertificates(chain)
	if err != nil {
		return nil, fmt.Errorf("the CA answered an unreadable certificate: %w", err)
	}
	if err := ui.WriteFile(out, chain, 0o600, true); err != nil {
		return nil, err
	}
	return certs[0], nil
}

// renew renews over mTLS, or with a renew token when --mtls=false or the
// certificate has expired (wire-spec §9).
func renew(c *cli.Context, cl *client.Client, id *identity, now time.Time) (*wire.SignResponse, error) {
	ctx, cancel := timeoutCtx(c)
	defer cancel()
	if c.Bool("mtls") && now.Before(id.leaf().NotAfter) {
		return cl.Renew(ctx, id.tlsCertificate())
	}
	tok, err := renewToken(id, cl.URL().String()+"/renew", now)
	if err != nil {
		return nil, err
	}
	return cl.RenewWithToken(ctx, tok)
}

// renewToken mints an x5cInsecure token signed by the certificate key (wire-spec §4.6).
func renewToken(id *identity, audience string, now time.Time) (string, error) {
	jwk, err := mjose.NewSigningJWK(id.key)
	if err != nil {
		return "", err
	}
	var x5c []string
	for _, c := range id.chain {
		x5c = append(x5c, base64.StdEncoding.EncodeToString(c.Raw))
	}
	claims := &token.Claims{
		Audience: token.Audience{audience}, Issuer: renewIssuer, Subject: id.leaf().Subject.CommonName,
		IssuedAt: token.NewNumericDate(now), NotBefore: token.NewNumericDate(now),
		Expiry: token.NewNumericDate(now.Add(token.DefaultValidity)),
	}
	return token.Sign(jwk, claims, map[string]any{"x5cInsecure": x5c})
}

func pemBytes(b *pem.Block) []byte { return pem.EncodeToMemory(b) }
