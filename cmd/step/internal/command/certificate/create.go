package certificate

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/mayfly-pki/mayfly/cmd/step/internal/app"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/flags"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/keyfile"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/ui"
	"github.com/mayfly-pki/mayfly/internal/keyutil"
	"github.com/mayfly-pki/mayfly/internal/pemutil"
)

func createCommand() *cli.Command {
	return &cli.Command{
		Name:      "create",
		Usage:     "create a certificate or certificate signing request",
		UsageText: "**step certificate create** <subject> <crt-file> <key-file> [**--csr**] [**--profile**=<profile>] [**--ca**=<issuer-cert>] [**--ca-key**=<issuer-key>] [**--ca-password-file**=<file>] [**--key**=<file>] [**--password-file**=<file>] [**--no-password** **--insecure**] [**--san**=<SAN>] [**--bundle**] [**--kty**=<type>] [**--curve**=<curve>] [**--size**=<size>] [**--not-before**=<time|duration>] [**--not-after**=<time|duration>] [**--force**]",
		ArgsUsage: "<subject> <crt-file> <key-file>",
		Description: `**step certificate create** generates a key pair and a certificate (or, with
--csr, a certificate signing request). Profiles: leaf (default; needs --ca and
--ca-key), intermediate-ca (needs --ca and --ca-key), root-ca, and self-signed
(needs --subtle). The private key is encrypted with a password unless
--no-password --insecure. Files are written 0600.

    $ step certificate create "Example Root CA" root_ca.crt root_ca.key --profile root-ca
    $ step certificate create "Example Intermediate CA" int.crt int.key --profile intermediate-ca --ca root_ca.crt --ca-key root_ca.key
    $ step certificate create foo.example.com foo.crt foo.key --ca int.crt --ca-key int.key --no-password --insecure --san foo.example.com --bundle
    $ step certificate create foo.example.com foo.csr foo.key --csr --no-password --insecure`,
		Flags: append([]cli.Flag{
			&cli.BoolFlag{Name: "csr", Usage: "Generate a certificate signing request (CSR) instead of a certificate."},
			&cli.StringFlag{Name: "profile", Value: profileLeaf, Usage: "The certificate `profile`: leaf, intermediate-ca, root-ca, self-signed."},
			&cli.StringFlag{Name: "ca", Usage: "The certificate authority used to issue the new certificate (PEM `file`)."},
			&cli.StringFlag{Name: "ca-key", Usage: "The certificate authority private key used to sign the new certificate (PEM `file`)."},
			&cli.StringFlag{Name: "ca-password-file", Usage: "The path to the `file` containing the password to decrypt the CA private key."},
			&cli.StringFlag{Name: "key", Usage: "The `file` of the private key to use instead of creating a new one (PEM file)."},
			flags.PasswordFile(""),
			flags.NoPassword(),
			flags.Insecure(),
			flags.NotBefore(""),
			flags.NotAfter(""),
			flags.SAN(),
			flags.Bundle("Bundle the new leaf certificate with the signing certificate. This flag requires the **--ca** flag."),
			flags.Template(),
			flags.Set(),
			flags.SetFile(),
			flags.Force(),
			&cli.BoolFlag{Name: "subtle", Usage: "Create certificates for unusual cases (required by --profile self-signed)."},
		}, flags.KeyFlags()...),
		Action: createAction,
	}
}

func createAction(c *cli.Context) error {
	minArgs := 3
	if c.String("key") != "" {
		minArgs = 2
	}
	if err := app.CheckArgs(c, minArgs, 3); err != nil {
		return err
	}
	if err := flags.CheckNoPassword(c); err != nil {
		return err
	}
	subject, crtFile, keyFile := c.Args().Get(0), c.Args().Get(1), c.Args().Get(2)
	if crtFile == keyFile {
		return fmt.Errorf("positional arguments <crt-file> and <key-file> cannot be equal in '%s'", c.Command.HelpName)
	}
	if c.String("template") != "" {
		return fmt.Errorf("flag '--template' is not supported by this version of step")
	}
	now := time.Now()
	notBefore, err := flags.ParseTime("not-before", c.String("not-before"), now)
	if err != nil {
		return err
	}
	notAfter, err := flags.ParseTime("not-after", c.String("not-after"), now)
	if err != nil {
		return err
	}
	if !notBefore.IsZero() && !notAfter.IsZero() && notBefore.After(notAfter) {
		return fmt.Errorf("flag '--not-before' value '%s' is after flag '--not-after' value '%s'", c.String("not-before"), c.String("not-after"))
	}
	profile := c.String("profile")
	sans := c.StringSlice("san")
	if len(sans) == 0 && (c.Bool("csr") || profile == profileLeaf || profile == profileSelfSigned) {
		sans = []string{subject}
	}

	// Check everything that can fail before generating or writing anything.
	for _, f := range []string{crtFile, keyFile} {
		if f != "" {
			if err := ui.CheckOverwrite(f, c.Bool("force")); err != nil {
				return err
			}
		}
	}
	if c.Bool("csr") {
		for _, f := range []string{"bundle", "ca", "ca-key", "ca-password-file", "not-before", "not-after"} {
			if c.IsSet(f) {
				return fmt.Errorf("flag '--%s' is incompatible with '--csr'", f)
			}
		}
		if c.IsSet("profile") && profile != profileLeaf {
			return fmt.Errorf("flag '--profile' is incompatible with '--csr'")
		}
	} else {
		if c.Bool("bundle") && profile != profileLeaf {
			return fmt.Errorf("flag '--bundle' is incompatible with '--profile %s'", profile)
		}
		if profile == profileSelfSigned && !c.Bool("subtle") {
			return fmt.Errorf("flag '--profile self-signed' requires the '--subtle' flag")
		}
		if err := checkCAFlags(c, profile); err != nil {
			return err
		}
	}

	priv, err := createOrReadKey(c)
	if err != nil {
		return err
	}
	var keyPass []byte
	if keyFile != "" {
		if keyPass, err = keyfile.NewPassword(c.String("password-file"), c.Bool("no-password")); err != nil {
			return err
		}
	}

	var out []byte
	what := "certificate"
	if c.Bool("csr") {
		what = "certificate signing request"
		der, err := createCSR(subject, sans, priv)
		if err != nil {
			return err
		}
		out = pemutil.EncodeCSR(der)
	} else {
		crt, parent, err := createCertificate(c, profile, subject, sans, priv, notBefore, notAfter, now)
		if err != nil {
			return err
		}
		out = pemutil.EncodeCertificate(crt)
		if c.Bool("bundle") {
			out = append(out, pemutil.EncodeCertificate(parent)...)
		}
	}

	if keyFile != "" {
		keyPEM, err := keyfile.EncodePrivateKey(priv, keyPass)
		if err != nil {
			return err
		}
		if err := ui.WriteFile(keyFile, keyPEM, 0o600, true); err != nil {
			return err
		}
	}
	if err := ui.WriteFile(crtFile, out, 0o600, true); err != nil {
		return err
	}
	ui.Printf("Your %s has been saved in %s.\n", what, crtFile)
	if keyFile != "" {
		ui.Printf("Your private key has been saved in %s.\n", keyFile)
	}
	return nil
}

// checkCAFlags applies step's rules for --ca/--ca-key per profile.
func checkCAFlags(c *cli.Context, profile string) error {
	ca, caKey := c.String("ca"), c.String("ca-key")
	switch profile {
	case profileLeaf, profileIntermediateCA:
		if ca == "" {
			return fmt.Errorf("flag '--profile %s' requires the '--ca' flag", profile)
		}
		if caKey == "" {
			return fmt.Errorf("flag '--profile %s' requires the '--ca-key' flag", profile)
		}
	case profileRootCA, profileSelfSigned:
		if ca != "" {
			return fmt.Errorf("flag '--ca' is incompatible with '--profile %s'", profile)
		}
		if caKey != "" {
			return fmt.Errorf("flag '--ca-key' is incompatible with '--profile %s'", profile)
		}
	default:
		return fmt.Errorf("invalid value '%s' for flag '--profile'; options are leaf, intermediate-ca, root-ca, self-signed", profile)
	}
	return nil
}

// createOrReadKey reads --key or generates a key from --kty/--curve/--size.
func createOrReadKey(c *cli.Context) (crypto.Signer, error) {
	if file := c.String("key"); file != "" {
		for _, f := range []string{"kty", "curve", "size"} {
			if c.IsSet(f) {
				return nil, fmt.Errorf("flag '--key' is incompatible with '--%s'", f)
			}
		}
		return keyfile.ReadPrivateKey(file, c.String("password-file"))
	}
	kty, crv, size, err := flags.KeyParams(c)
	if err != nil {
		return nil, err
	}
	return keyutil.Generate(kty, crv, size)
}

func createCSR(subject string, sans []string, priv crypto.Signer) ([]byte, error) {
	t, _, err := newTemplate(profileLeaf, subject, sans, priv.Public())
	if err != nil {
		return nil, err
	}
	req := &x509.CertificateRequest{
		Subject:        t.Subject,
		DNSNames:       t.DNSNames,
		IPAddresses:    t.IPAddresses,
		EmailAddresses: t.EmailAddresses,
		URIs:           t.URIs,
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, req, priv)
	if err != nil {
		return nil, fmt.Errorf("error creating certificate request: %w", err)
	}
	return der, nil
}

// createCertificate signs the profile's certificate for priv's public key, with
// the --ca/--ca-key issuer or self-signed. It returns the certificate and its parent.
func createCertificate(c *cli.Context, profile, subject string, sans []string, priv crypto.Signer, notBefore, notAfter, now time.Time) (*x509.Certificate, *x509.Certificate, error) {
	t, validity, err := newTemplate(profile, subject, sans, priv.Public())
	if err != nil {
		return nil, nil, err
	}
	t.NotBefore, t.NotAfter = notBefore, notAfter
	if t.NotBefore.IsZero() {
		t.NotBefore = now
	}
	if t.NotAfter.IsZero() {
		t.NotAfter = t.NotBefore.Add(validity)
	}
	if t.NotBefore.After(t.NotAfter) {
		return nil, nil, fmt.Errorf("invalid value '%s' for flag '--not-after': certificate is already expired", c.String("not-after"))
	}
	parent, signer := t, priv
	if ca := c.String("ca"); ca != "" {
		certs, err := readCerts(ca)
		if err != nil {
			return nil, nil, err
		}
		parent = certs[0]
		if signer, err = keyfile.ReadPrivateKey(c.String("ca-key"), c.String("ca-password-file")); err != nil {
			return nil, nil, err
		}
		if !keyutil.Equal(parent.PublicKey, signer.Public()) {
			return nil, nil, fmt.Errorf("the private key %s does not match the certificate %s", c.String("ca-key"), ca)
		}
	}
	t.SignatureAlgorithm = keyutil.SignatureAlgorithm(signer.Public())
	der, err := x509.CreateCertificate(rand.Reader, t, parent, priv.Public(), signer)
	if err != nil {
		return nil, nil, fmt.Errorf("error creating certificate: %w", err)
	}
	crt, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("error parsing new certificate: %w", err)
	}
	if parent == t {
		parent = crt
	}
	return crt, parent, nil
}
