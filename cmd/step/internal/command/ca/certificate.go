package ca

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/mayfly-pki/mayfly/api/wire"
	"github.com/mayfly-pki/mayfly/ca/client"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/app"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/flags"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/ui"
	"github.com/mayfly-pki/mayfly/internal/keyutil"
	"github.com/mayfly-pki/mayfly/internal/pemutil"
	"github.com/mayfly-pki/mayfly/internal/timeutil"
	"github.com/mayfly-pki/mayfly/provisioner/token"
)

func signFlags() []cli.Flag {
	return append([]cli.Flag{
		flags.CaURL(), flags.Root(), flags.Context(), flags.Force(), flags.Token(),
		&cli.StringFlag{Name: "provisioner", Aliases: []string{"issuer"}, Usage: "The provisioner `name` to use."},
		&cli.StringFlag{Name: "kid", Usage: "The provisioner `kid` to use."},
		flags.ProvisionerPasswordFile(),
		&cli.StringFlag{Name: "key", Hidden: true, Usage: "private key `file` signing the token"},
		flags.SAN(),
		flags.NotBefore("certificate"), flags.NotAfter("certificate"),
		flags.Set(), flags.SetFile(),
		flags.Offline(),
	}, append(append(x5cFlags(), nebulaFlags()...), append(k8ssaFlags(), oidcFlags()...)...)...)
}

func certificateCommand() *cli.Command {
	fs := append(signFlags(), flags.KeyFlags()...)
	return &cli.Command{
		Name:      "certificate",
		Usage:     "generate a new private key and certificate signed by the root certificate",
		UsageText: "step ca certificate <subject> <crt-file> <key-file> [--token <token>] [--provisioner <name>] [--x5c-cert <file> --x5c-key <file>] [--nebula-cert <file> --nebula-key <file>] [--san <name>] [--not-after <duration>] [--set <key=value>] [--set-file <file>] [--kty <type>] [--force]",
		ArgsUsage: "<subject> <crt-file> <key-file>",
		Flags:     fs,
		Action:    certificateAction,
	}
}

func signCommand() *cli.Command {
	return &cli.Command{
		Name:      "sign",
		Usage:     "generate a new certificate signing a certificate request",
		UsageText: "step ca sign <csr-file> <crt-file> [--token <token>] [--provisioner <name>] [--not-after <duration>] [--set <key=value>] [--set-file <file>] [--force]",
		ArgsUsage: "<csr-file> <crt-file>",
		Flags:     signFlags(),
		Action:    signAction,
	}
}

func certificateAction(c *cli.Context) error {
	if err := app.CheckArgs(c, 3, 3); err != nil {
		return err
	}
	sub, crtFile, keyFile := c.Args().Get(0), c.Args().Get(1), c.Args().Get(2)
	if c.Bool("offline") {
		return fmt.Errorf("--offline is not supported yet")
	}
	for _, f := range []string{crtFile, keyFile} {
		if err := ui.CheckOverwrite(f, c.Bool("force")); err != nil {
			return err
		}
	}
	kty, crv, size, err := flags.KeyParams(c)
	if err != nil {
		return err
	}
	data, err := templateData(c)
	if err != nil {
		return err
	}
	cl, roots, err := newClient(c)
	if err != nil {
		return err
	}
	tok := c.String("token")
	sans := c.StringSlice("san")
	if tok == "" {
		if len(sans) == 0 {
			sans = []string{sub}
		}
		if tok, err = mintToken(c, cl, pemutil.Fingerprint(roots[0]), tokenRequest{subject: sub, sans: sans, path: "/1.0/sign"}, false); err != nil {
			return err
		}
	} else if len(sans) == 0 {
		sans = tokenSANs(tok, sub)
	}
	// A cloud identity token names the instance; an ID token (which also
	// carries an email, as GCP's identity tokens do) its user.
	if names := cloudSANs(tok); names != nil {
		if len(c.StringSlice("san")) == 0 {
			sans = names
		}
	} else if cn, names, ok, err := oidcNames(tok, sub, c.StringSlice("san")); err != nil {
		return err
	} else if ok {
		sub, sans = cn, names
	}
	key, err := keyutil.Generate(kty, crv, size)
	if err != nil {
		return err
	}
	csr, err := newCSR(sub, sans, key)
	if err != nil {
		return err
	}
	resp, err := sign(c, cl, csr, tok, data)
	if err != nil {
		return err
	}
	block, err := pemutil.MarshalPrivateKey(key, nil)
	if err != nil {
		return err
	}
	if err := ui.WriteFile(crtFile, chainPEM(resp), 0o600, true); err != nil {
		return err
	}
	if err := ui.WriteFile(keyFile, pemBytes(block), 0o600, true); err != nil {
		return err
	}
	ui.PrintSelected("CA", cl.URL().String())
	ui.PrintSelected("Certificate", crtFile)
	ui.PrintSelected("Private Key", keyFile)
	return nil
}

func signAction(c *cli.Context) error {
	if err := app.CheckArgs(c, 2, 2); err != nil {
		return err
	}
	csrFile, crtFile := c.Args().Get(0), c.Args().Get(1)
	if err := ui.CheckOverwrite(crtFile, c.Bool("force")); err != nil {
		return err
	}
	data, err := os.ReadFile(csrFile)
	if err != nil {
		return fmt.Errorf("error reading %s: %w", csrFile, err)
	}
	csr, err := pemutil.ParseCSR(data)
	if err != nil {
		return fmt.Errorf("error reading %s: %w", csrFile, err)
	}
	if err := csr.CheckSignature(); err != nil {
		return fmt.Errorf("%s: the certificate request signature is invalid: %w", csrFile, err)
	}
	tdata, err := templateData(c)
	if err != nil {
		return err
	}
	cl, roots, err := newClient(c)
	if err != nil {
		return err
	}
	tok := c.String("token")
	if tok == "" {
		sub := csr.Subject.CommonName
		sans := c.StringSlice("san")
		if len(sans) == 0 {
			sans = csrNames(csr)
		}
		if sub == "" && len(sans) > 0 {
			sub = sans[0]
		}
		if sub == "" {
			return fmt.Errorf("%s: the certificate request has no subject or SANs", csrFile)
		}
		if len(sans) == 0 {
			sans = []string{sub}
		}
		if tok, err = mintToken(c, cl, pemutil.Fingerprint(roots[0]), tokenRequest{subject: sub, sans: sans, path: "/1.0/sign"}, false); err != nil {
			return err
		}
	}
	resp, err := sign(c, cl, csr, tok, tdata)
	if err != nil {
		return err
	}
	if err := ui.WriteFile(crtFile, chainPEM(resp), 0o600, true); err != nil {
		return err
	}
	ui.PrintSelected("CA", cl.URL().String())
	ui.PrintSelected("Certificate", crtFile)
	return nil
}

// sign posts the CSR with the validity flags and the template data of
// --set/--set-file (the provisioner's template sees it as .Insecure.User).
func sign(c *cli.Context, cl *client.Client, csr *x509.CertificateRequest, tok string, data json.RawMessage) (*wire.SignResponse, error) {
	nb, err := timeutil.Parse(c.String("not-before"))
	if err != nil {
		return nil, fmt.Errorf("invalid value for flag '--not-before': %w", err)
	}
	na, err := timeutil.Parse(c.String("not-after"))
	if err != nil {
		return nil, fmt.Errorf("invalid value for flag '--not-after': %w", err)
	}
	req := &wire.SignRequest{CSR: string(pemutil.EncodeCSR(csr.Raw)), OTT: tok, NotBefore: nb, NotAfter: na, TemplateData: data}
	ctx, cancel := timeoutCtx(c)
	defer cancel()
	return cl.Sign(ctx, req)
}

// templateData returns the JSON of --set-file and --set, nil when neither
// is given (step sends templateData only then). It runs before a token is
// minted, so that a bad flag is reported before any password prompt.
func templateData(c *cli.Context) (json.RawMessage, error) {
	m, ok, err := flags.TemplateData(c)
	if err != nil || !ok {
		return nil, err
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("error encoding the template data: %w", err)
	}
	return b, nil
}

// tokenSANs reads the sans claim of a token given with --token.
func tokenSANs(raw, sub string) []string {
	if t, err := token.Parse(raw); err == nil && len(t.Claims.SANs) > 0 {
		return t.Claims.SANs
	}
	return []string{sub}
}

// newCSR makes a CSR with CN sub and the SANs sorted by kind.
func newCSR(sub string, sans []string, key crypto.Signer) (*x509.CertificateRequest, error) {
	tmpl := &x509.CertificateRequest{Subject: pkix.Name{CommonName: sub}}
	for _, s := range sans {
		if ip := net.ParseIP(s); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if strings.Contains(s, "@") && !strings.Contains(s, "://") {
			tmpl.EmailAddresses = append(tmpl.EmailAddresses, s)
		} else if u, err := url.Parse(s); err == nil && u.Scheme != "" && strings.Contains(s, ":") {
			tmpl.URIs = append(tmpl.URIs, u)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, s)
		}
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		return nil, fmt.Errorf("error creating certificate request: %w", err)
	}
	return x509.ParseCertificateRequest(der)
}

func csrNames(csr *x509.CertificateRequest) []string {
	var out []string
	out = append(out, csr.DNSNames...)
	for _, ip := range csr.IPAddresses {
		out = append(out, ip.String())
	}
	out = append(out, csr.EmailAddresses...)
	for _, u := range csr.URIs {
		out = append(out, u.String())
	}
	return out
}

// chainPEM returns the certificate chain of a response (falling back to crt + ca).
func chainPEM(r *wire.SignResponse) []byte {
	var b strings.Builder
	if len(r.CertChain) > 0 {
		for _, c := range r.CertChain {
			b.WriteString(c)
		}
		return []byte(b.String())
	}
	b.WriteString(r.Certificate)
	if r.CA != nil {
		b.WriteString(*r.CA)
	}
	return []byte(b.String())
}
