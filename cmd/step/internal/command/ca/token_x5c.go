package ca

import (
	"crypto"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/urfave/cli/v2"

	"github.com/mayfly-pki/mayfly/cmd/step/internal/ui"
	mjose "github.com/mayfly-pki/mayfly/internal/jose"
	"github.com/mayfly-pki/mayfly/internal/pemutil"
)

// x5cFlags are step's flags for tokens signed by a certificate's key (X5C
// provisioners, wire-spec §4.4).
func x5cFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "x5c-cert", Usage: "Certificate (chain) `file` in PEM format to store in the 'x5c' header of a JWT."},
		&cli.StringFlag{Name: "x5c-key", Usage: "Private key `file`, used to sign a JWT, corresponding to the certificate that will be stored in the 'x5c' header."},
	}
}

// usesX5C reports whether the command was asked for an X5C token, and
// checks --x5c-cert and --x5c-key come together.
func usesX5C(c *cli.Context) (bool, error) {
	cert, key := c.String("x5c-cert"), c.String("x5c-key")
	switch {
	case cert == "" && key == "":
		return false, nil
	case cert == "":
		return false, errors.New("flag '--x5c-cert' is required with '--x5c-key'")
	case key == "":
		return false, errors.New("flag '--x5c-key' is required with '--x5c-cert'")
	}
	return true, nil
}

// selectX5CProvisioner picks the X5C provisioner named by --provisioner, the
// only one, or asks on a terminal, as step does when --x5c-cert is given.
func selectX5CProvisioner(c *cli.Context, list []json.RawMessage) (*provInfo, error) {
	name := c.String("provisioner")
	var match []provInfo
	for _, raw := range list {
		var p provInfo
		if json.Unmarshal(raw, &p) == nil && strings.EqualFold(p.Type, "X5C") && (name == "" || p.Name == name) {
			match = append(match, p)
		}
	}
	switch {
	case len(match) == 1:
		return &match[0], nil
	case len(match) == 0 && name != "":
		return nil, fmt.Errorf("provisioner %q not found or not an X5C provisioner", name)
	case len(match) == 0:
		return nil, errors.New("cannot create a new token: the CA does not have any X5C provisioner")
	}
	if !ui.IsTerminal() {
		return nil, fmt.Errorf("there is more than one X5C provisioner: use --provisioner to choose one")
	}
	fmt.Fprintln(os.Stderr, "Use the number to select a provisioner:")
	for i, p := range match {
		fmt.Fprintf(os.Stderr, "  %d: %s (X5C)\n", i+1, p.Name)
	}
	fmt.Fprint(os.Stderr, "✔ Provisioner: ")
	var n int
	if _, err := fmt.Fscan(os.Stdin, &n); err != nil || n < 1 || n > len(match) {
		return nil, errors.New("invalid provisioner selection")
	}
	return &match[n-1], nil
}

// readX5C reads --x5c-cert (the certificate, then its intermediates) and
// --x5c-key, and returns the x5c header value and the signing key, whose kid
// is the key file's name as given, as step writes it.
func readX5C(c *cli.Context, allowPasswordFile bool) ([]string, *jose.JSONWebKey, error) {
	certFile, keyFile := c.String("x5c-cert"), c.String("x5c-key")
	chain, err := pemutil.ReadCertificates(certFile)
	if err != nil {
		return nil, nil, fmt.Errorf("--x5c-cert: %w", err)
	}
	data, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, nil, fmt.Errorf("--x5c-key: error reading %s: %w", keyFile, err)
	}
	var pass []byte
	if pemutil.IsEncrypted(data) {
		src := ui.PasswordFile{}
		if allowPasswordFile {
			src = ui.PasswordFlag(c, "password-file")
		}
		if pass, err = ui.ReadPassword(src, fmt.Sprintf("Please enter the password to decrypt %s:", keyFile)); err != nil {
			return nil, nil, err
		}
	}
	signer, err := pemutil.ParsePrivateKey(data, pass)
	if err != nil {
		return nil, nil, fmt.Errorf("--x5c-key: error reading %s: %w", keyFile, err)
	}
	if pub, ok := signer.Public().(interface{ Equal(crypto.PublicKey) bool }); !ok || !pub.Equal(chain[0].PublicKey) {
		return nil, nil, fmt.Errorf("--x5c-key: %s is not the key of the certificate in %s", keyFile, certFile)
	}
	key, err := mjose.NewSigningJWK(signer)
	if err != nil {
		return nil, nil, fmt.Errorf("--x5c-key: %w", err)
	}
	key.KeyID = keyFile
	x5c := make([]string, len(chain))
	for i, cert := range chain {
		x5c[i] = base64.StdEncoding.EncodeToString(cert.Raw)
	}
	return x5c, key, nil
}
