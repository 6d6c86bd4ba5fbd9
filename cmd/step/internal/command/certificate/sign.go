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
)

func signCommand() *cli.Command {
	return &cli.Command{
		Name:      "sign",
		Usage:     "sign a certificate signing request (CSR)",
		UsageText: "**step certificate sign** <csr-file> <crt-file> <key-file> [**--profile**=<profile>] [**--bundle**] [**--password-file**=<file>] [**--not-before**=<time|duration>] [**--not-after**=<time|duration>] [**--path-len**=<maximum>] [**--omit-cn-san**] [**--template**=<file>] [**--set**=<key=value>] [**--set-file**=<file>]",
		ArgsUsage: "<csr-file> <crt-file> <key-file>",
		Description: `**step certificate sign** signs the CSR with the issuer certificate <crt-file>
and its private key <key-file>, and prints the new certificate (PEM) on stdout.
Profiles: leaf (default), intermediate-ca, csr (keep the CSR's extensions).
With --template a certificate template describes the certificate instead; it
sees .Subject and .SANs from the CSR, .Insecure.CR (the CSR), .MaxPathLen
(--path-len) and .Insecure.User (--set-file, then --set key=value).

    $ step certificate sign leaf.csr intermediate_ca.crt intermediate_ca_key > leaf.crt
    $ step certificate sign --bundle leaf.csr intermediate_ca.crt intermediate_ca_key
    $ step certificate sign --template client.tpl --set ou=Engineering leaf.csr intermediate_ca.crt intermediate_ca_key`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "profile", Value: profileLeaf, Usage: "The certificate `profile`: leaf, intermediate-ca, csr."},
			flags.Bundle("Bundle the new leaf certificate with the signing certificate."),
			flags.PasswordFile("The path to the `file` containing the password to decrypt the issuer's private key."),
			flags.NotBefore(""),
			flags.NotAfter(""),
			&cli.IntFlag{Name: "path-len", Value: 0, Usage: "The maximum `path length` for --profile intermediate-ca."},
			&cli.BoolFlag{Name: "omit-cn-san", Usage: "Do not add the CSR's Common Name as a SAN when it is missing."},
			flags.Template(),
			setFlag(),
			flags.SetFile(),
			&cli.StringFlag{Name: "kms", Usage: "The `uri` of the key manager holding the issuer's key; <key-file> is then a key name in it (pkcs11:id=7332;object=intermediate-ca)."},
		},
		Action: signAction,
	}
}

func signAction(c *cli.Context) error {
	if err := app.CheckArgs(c, 3, 3); err != nil {
		return err
	}
	tpl, user, err := readTemplate(c)
	if err != nil {
		return err
	}
	csrFile, crtFile, keyFile := c.Args().Get(0), c.Args().Get(1), c.Args().Get(2)
	in, err := readCertsOrCSR(csrFile, true)
	if err != nil {
		return err
	}
	if in.csr == nil {
		return fmt.Errorf("%s is not a certificate signing request", csrFile)
	}
	csr := in.csr
	if err := csr.CheckSignature(); err != nil {
		return fmt.Errorf("certificate request %s has an invalid signature: %w", csrFile, err)
	}
	issuers, err := readCerts(crtFile)
	if err != nil {
		return err
	}
	issuer := issuers[0]
	var signer crypto.Signer
	if uri := c.String("kms"); uri != "" {
		keys := kmsutil.New()
		defer keys.Close()
		signer, err = keys.Signer(c.Context, uri, keyFile, "kms")
	} else {
		signer, err = keyfile.ReadPrivateKey(keyFile, ui.PasswordFlag(c, "password-file"))
	}
	if err != nil {
		return err
	}
	if !keyutil.Equal(issuer.PublicKey, signer.Public()) {
		return fmt.Errorf("the private key %s does not match the certificate %s", keyFile, crtFile)
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
	var sans []string
	for _, n := range csr.DNSNames {
		sans = append(sans, n)
	}
	for _, ip := range csr.IPAddresses {
		sans = append(sans, ip.String())
	}
	sans = append(sans, csr.EmailAddresses...)
	for _, u := range csr.URIs {
		sans = append(sans, u.String())
	}
	cn := csr.Subject.CommonName
	if len(sans) == 0 && cn != "" && !c.Bool("omit-cn-san") {
		sans = []string{cn}
	}

	var t *x509.Certificate
	var validity time.Duration
	switch profile := c.String("profile"); {
	case tpl != nil:
		validity = defaultLeafValidity
		if t, err = renderCertificate(tpl, user, signData(csr, sans, c.Int("path-len")), csr.PublicKey); err != nil {
			return err
		}
	case profile == profileLeaf || profile == profileIntermediateCA:
		if t, validity, err = newTemplate(profile, cn, sans, csr.PublicKey); err != nil {
			return err
		}
		t.Subject = csr.Subject
		if profile == profileIntermediateCA {
			t.MaxPathLen = c.Int("path-len")
			t.MaxPathLenZero = t.MaxPathLen == 0
		}
	case profile == "csr":
		if t, validity, err = newTemplate(profileLeaf, cn, nil, csr.PublicKey); err != nil {
			return err
		}
		t.Subject = csr.Subject
		t.KeyUsage, t.ExtKeyUsage = 0, nil
		t.DNSNames, t.IPAddresses, t.EmailAddresses, t.URIs = csr.DNSNames, csr.IPAddresses, csr.EmailAddresses, csr.URIs
		t.ExtraExtensions = csr.Extensions
	default:
		return fmt.Errorf("invalid value '%s' for flag '--profile'; options are leaf, intermediate-ca, csr", profile)
	}
	if err := setValidity(c, t, notBefore, notAfter, now, validity); err != nil {
		return err
	}
	setSignatureAlgorithm(t, signer.Public())
	der, err := x509.CreateCertificate(rand.Reader, t, issuer, csr.PublicKey, signer)
	if err != nil {
		return fmt.Errorf("error signing certificate: %w", err)
	}
	crt, err := x509.ParseCertificate(der)
	if err != nil {
		return fmt.Errorf("error parsing new certificate: %w", err)
	}
	out := pemutil.EncodeCertificate(crt)
	if c.Bool("bundle") {
		out = append(out, pemutil.EncodeCertificate(issuer)...)
	}
	_, err = c.App.Writer.Write(out)
	return err
}
