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
	"github.com/mayfly-pki/mayfly/cmd/step/internal/kmsutil"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/ui"
	"github.com/mayfly-pki/mayfly/internal/keyutil"
	"github.com/mayfly-pki/mayfly/internal/pemutil"
	"github.com/mayfly-pki/mayfly/templates"
)

func createCommand() *cli.Command {
	return &cli.Command{
		Name:      "create",
		Usage:     "create a certificate or certificate signing request",
		UsageText: "**step certificate create** <subject> <crt-file> <key-file> [**--csr**] [**--profile**=<profile>] [**--ca**=<issuer-cert>] [**--ca-key**=<issuer-key>] [**--ca-password-file**=<file>] [**--key**=<file>] [**--password-file**=<file>] [**--no-password** **--insecure**] [**--san**=<SAN>] [**--template**=<file>] [**--set**=<key=value>] [**--set-file**=<file>] [**--bundle**] [**--kty**=<type>] [**--curve**=<curve>] [**--size**=<size>] [**--not-before**=<time|duration>] [**--not-after**=<time|duration>] [**--force**]",
		ArgsUsage: "<subject> <crt-file> <key-file>",
		Description: `**step certificate create** generates a key pair and a certificate (or, with
--csr, a certificate signing request). Profiles: leaf (default; needs --ca and
--ca-key), intermediate-ca (needs --ca and --ca-key), root-ca, and self-signed
(needs --subtle). The private key is encrypted with a password unless
--no-password --insecure. Files are written 0600.

With --template the certificate is described by a certificate template (a Go
template rendering step's JSON certificate format, with sprig functions) instead
of a profile: it is signed by --ca/--ca-key when given, else self-signed. The
template sees .Subject, .SANs (--san, or the subject), .Insecure.CR (a request
for the new key) and .Insecure.User (--set-file, then each --set key=value; a
value that is valid JSON is used as JSON). --not-before/--not-after win over
the template's notBefore/notAfter; without either a template certificate lives
24 hours.

    $ step certificate create "Example Root CA" root_ca.crt root_ca.key --profile root-ca
    $ step certificate create "Example Intermediate CA" int.crt int.key --profile intermediate-ca --ca root_ca.crt --ca-key root_ca.key
    $ step certificate create foo.example.com foo.crt foo.key --ca int.crt --ca-key int.key --no-password --insecure --san foo.example.com --bundle
    $ step certificate create foo.example.com foo.csr foo.key --csr --no-password --insecure
    $ step certificate create signer.example.com code.crt code.key --template code.tpl --set organization=Acme --ca int.crt --ca-key int.key

With --kms the new certificate's key is --key in that key manager (a key URI
such as pkcs11:id=7331;object=root-ca), and no key file is written; with
--ca-kms the issuer's --ca-key is a key in that key manager:

    $ step certificate create --profile root-ca --kms "$PKCS_URI" --key "pkcs11:id=7331;object=root-ca" "Root CA" root_ca.crt
    $ step certificate create --profile intermediate-ca --kms "$PKCS_URI" --ca-kms "$PKCS_URI" --ca root_ca.crt --ca-key "pkcs11:id=7331;object=root-ca" --key "pkcs11:id=7332;object=intermediate-ca" "Intermediate CA" intermediate_ca.crt`,
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
			setFlag(),
			flags.SetFile(),
			flags.Force(),
			&cli.BoolFlag{Name: "subtle", Usage: "Create certificates for unusual cases (required by --profile self-signed)."},
			&cli.StringFlag{Name: "kms", Usage: "The `uri` of the key manager holding --key (pkcs11:module-path=...;token=...?pin-value=...); no key file is written."},
			&cli.StringFlag{Name: "ca-kms", Usage: "The `uri` of the key manager holding --ca-key."},
		}, flags.KeyFlags()...),
		Action: createAction,
	}
}

func createAction(c *cli.Context) error {
	minArgs := 3
	if c.String("key") != "" {
		minArgs = 2
	}
	maxArgs := 3
	if c.String("kms") != "" {
		maxArgs = 2 // the key stays in the key manager
		if c.String("key") == "" {
			return fmt.Errorf("flag '--kms' requires the '--key' flag")
		}
	}
	if c.String("ca-kms") != "" && c.String("ca-key") == "" {
		return fmt.Errorf("flag '--ca-kms' requires the '--ca-key' flag")
	}
	if err := app.CheckArgs(c, minArgs, maxArgs); err != nil {
		return err
	}
	if err := flags.CheckNoPassword(c); err != nil {
		return err
	}
	subject, crtFile, keyFile := c.Args().Get(0), c.Args().Get(1), c.Args().Get(2)
	if crtFile == keyFile {
		return fmt.Errorf("positional arguments <crt-file> and <key-file> cannot be equal in '%s'", c.Command.HelpName)
	}
	tpl, user, err := readTemplate(c)
	if err != nil {
		return err
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
	if len(sans) == 0 && (tpl != nil || c.Bool("csr") || profile == profileLeaf || profile == profileSelfSigned) {
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
	} else if tpl != nil {
		// With a template, --ca and --ca-key choose the issuer; without them
		// the certificate is self-signed.
		if err := checkTemplateCAFlags(c); err != nil {
			return err
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

	keys := kmsutil.New()
	defer keys.Close()
	priv, err := createOrReadKey(c, keys)
	if err != nil {
		return err
	}
	var keyPass []byte
	if keyFile != "" {
		if keyPass, err = keyfile.NewPassword(ui.PasswordFlag(c, "password-file"), c.Bool("no-password")); err != nil {
			return err
		}
	}

	var out []byte
	what := "certificate"
	if c.Bool("csr") {
		what = "certificate signing request"
		var der []byte
		if tpl != nil {
			der, err = templateCSR(tpl, user, subject, sans, priv)
		} else {
			der, err = createCSR(subject, sans, priv)
		}
		if err != nil {
			return err
		}
		out = pemutil.EncodeCSR(der)
	} else {
		crt, parent, err := createCertificate(c, keys, tpl, user, profile, subject, sans, priv, notBefore, notAfter, now)
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

// checkTemplateCAFlags: with --template, --ca and --ca-key come together or
// not at all, and --bundle needs them.
func checkTemplateCAFlags(c *cli.Context) error {
	ca, caKey := c.String("ca"), c.String("ca-key")
	switch {
	case ca != "" && caKey == "":
		return fmt.Errorf("flag '--ca' requires the '--ca-key' flag")
	case ca == "" && caKey != "":
		return fmt.Errorf("flag '--ca-key' requires the '--ca' flag")
	case ca == "" && c.Bool("bundle"):
		return fmt.Errorf("flag '--bundle' requires the '--ca' flag")
	}
	return nil
}

// createOrReadKey reads --key or generates a key from --kty/--curve/--size.
func createOrReadKey(c *cli.Context, keys *kmsutil.Keys) (crypto.Signer, error) {
	if file := c.String("key"); file != "" {
		for _, f := range []string{"kty", "curve", "size"} {
			if c.IsSet(f) {
				return nil, fmt.Errorf("flag '--key' is incompatible with '--%s'", f)
			}
		}
		if uri := c.String("kms"); uri != "" {
			return keys.Signer(c.Context, uri, file, "key")
		}
		return keyfile.ReadPrivateKey(file, ui.PasswordFlag(c, "password-file"))
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

// createCertificate signs the certificate for priv's public key, described
// by the template tpl or else by the profile, with the --ca/--ca-key issuer or
// self-signed. It returns the certificate and its parent.
func createCertificate(c *cli.Context, keys *kmsutil.Keys, tpl *templates.X509Template, user map[string]any, profile, subject string, sans []string,
	priv crypto.Signer, notBefore, notAfter, now time.Time) (*x509.Certificate, *x509.Certificate, error) {
	var t *x509.Certificate
	validity := defaultTemplateValidity
	if tpl != nil {
		data, err := createData(subject, sans, priv)
		if err != nil {
			return nil, nil, err
		}
		if t, err = renderCertificate(tpl, user, data, priv.Public()); err != nil {
			return nil, nil, err
		}
	} else {
		var err error
		if t, validity, err = newTemplate(profile, subject, sans, priv.Public()); err != nil {
			return nil, nil, err
		}
	}
	if err := setValidity(c, t, notBefore, notAfter, now, validity); err != nil {
		return nil, nil, err
	}
	parent, signer := t, priv
	if ca := c.String("ca"); ca != "" {
		certs, err := readCerts(ca)
		if err != nil {
			return nil, nil, err
		}
		parent = certs[0]
		if uri := c.String("ca-kms"); uri != "" {
			signer, err = keys.Signer(c.Context, uri, c.String("ca-key"), "ca-key")
		} else {
			signer, err = keyfile.ReadPrivateKey(c.String("ca-key"), ui.PasswordFlag(c, "ca-password-file"))
		}
		if err != nil {
			return nil, nil, err
		}
		if !keyutil.Equal(parent.PublicKey, signer.Public()) {
			return nil, nil, fmt.Errorf("the private key %s does not match the certificate %s", c.String("ca-key"), ca)
		}
	}
	setSignatureAlgorithm(t, signer.Public())
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
