package ca

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/slackhq/nebula/cert"
	"github.com/urfave/cli/v2"

	"github.com/mayfly-pki/mayfly/cmd/step/internal/ui"
	"github.com/mayfly-pki/mayfly/provisioner/nebula"
	"github.com/mayfly-pki/mayfly/provisioner/token"
)

// nebulaFlags are step's flags for tokens signed by a Nebula host
// certificate's key (Nebula provisioners).
func nebulaFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "nebula-cert", Usage: "Certificate `file` in PEM format to store in the 'nebula' header of a JWT."},
		&cli.StringFlag{Name: "nebula-key", Usage: "Private key `file`, used to sign a JWT, corresponding to the certificate that will be stored in the 'nebula' header."},
	}
}

// usesNebula reports whether the command was asked for a Nebula token, and
// checks --nebula-cert and --nebula-key come together.
func usesNebula(c *cli.Context) (bool, error) {
	crt, key := c.String("nebula-cert"), c.String("nebula-key")
	switch {
	case crt == "" && key == "":
		return false, nil
	case crt == "":
		return false, errors.New("flag '--nebula-cert' is required with '--nebula-key'")
	case key == "":
		return false, errors.New("flag '--nebula-key' is required with '--nebula-cert'")
	}
	return true, nil
}

// selectNebulaProvisioner picks the Nebula provisioner named by
// --provisioner, the only one, or asks on a terminal.
func selectNebulaProvisioner(c *cli.Context, list []json.RawMessage) (*provInfo, error) {
	name := c.String("provisioner")
	var match []provInfo
	for _, raw := range list {
		var p provInfo
		if json.Unmarshal(raw, &p) == nil && strings.EqualFold(p.Type, "Nebula") && (name == "" || p.Name == name) {
			match = append(match, p)
		}
	}
	switch {
	case len(match) == 1:
		return &match[0], nil
	case len(match) == 0 && name != "":
		return nil, fmt.Errorf("provisioner %q not found or not a Nebula provisioner", name)
	case len(match) == 0:
		return nil, errors.New("cannot create a new token: the CA does not have any Nebula provisioner")
	}
	if !ui.IsTerminal() {
		return nil, fmt.Errorf("there is more than one Nebula provisioner: use --provisioner to choose one")
	}
	fmt.Fprintln(os.Stderr, "Use the number to select a provisioner:")
	for i, p := range match {
		fmt.Fprintf(os.Stderr, "  %d: %s (NEBULA)\n", i+1, p.Name)
	}
	fmt.Fprint(os.Stderr, "✔ Provisioner: ")
	var n int
	if _, err := fmt.Fscan(os.Stdin, &n); err != nil || n < 1 || n > len(match) {
		return nil, errors.New("invalid provisioner selection")
	}
	return &match[n-1], nil
}

// mintNebulaToken mints req's token signed by the key of --nebula-key, with
// the certificate of --nebula-cert in the nebula header and the audience
// fragment "nebula/<name>", as step does.
func mintNebulaToken(c *cli.Context, list []json.RawMessage, caURL, rootSHA string, req tokenRequest) (string, error) {
	p, err := selectNebulaProvisioner(c, list)
	if err != nil {
		return "", err
	}
	ui.PrintSelected("Provisioner", p.Name+" (NEBULA)")
	certFile, keyFile := c.String("nebula-cert"), c.String("nebula-key")
	b, err := os.ReadFile(certFile)
	if err != nil {
		return "", fmt.Errorf("--nebula-cert: error reading %s: %w", certFile, err)
	}
	// A PEM file, or the certificate's bytes, as step reads it; the header
	// carries the bytes as read.
	if bytes.HasPrefix(b, []byte("-----BEGIN")) {
		block, _ := pem.Decode(b)
		if block == nil || !strings.HasPrefix(block.Type, "NEBULA CERTIFICATE") {
			return "", fmt.Errorf("--nebula-cert: error reading %s: not a proper nebula certificate", certFile)
		}
		b = block.Bytes
	}
	header := base64.StdEncoding.EncodeToString(b)
	crt, err := nebula.ParseCertificate(header)
	if err != nil {
		return "", fmt.Errorf("--nebula-cert: error reading %s: %w", certFile, err)
	}
	kb, err := os.ReadFile(keyFile)
	if err != nil {
		return "", fmt.Errorf("--nebula-key: error reading %s: %w", keyFile, err)
	}
	priv, _, curve, err := cert.UnmarshalPrivateKeyFromPEM(kb)
	if err != nil {
		return "", fmt.Errorf("--nebula-key: error parsing %s: %w", keyFile, err)
	}
	key, err := nebula.SigningKey(crt, curve, priv)
	if err != nil {
		return "", fmt.Errorf("--nebula-key: %s: %w", keyFile, err)
	}
	jti, err := token.NewID()
	if err != nil {
		return "", err
	}
	now := time.Now()
	nbf := now
	if !req.notBef.IsZero() {
		nbf = req.notBef
	}
	validity := req.validity
	if validity == 0 {
		validity = token.DefaultValidity
	}
	claims := &token.Claims{
		Audience: token.Audience{caURL + req.path + "#nebula/" + p.Name}, Issuer: p.Name, Subject: req.subject, ID: jti, SHA: rootSHA,
		IssuedAt: token.NewNumericDate(now), NotBefore: token.NewNumericDate(nbf),
		Expiry: token.NewNumericDate(nbf.Add(validity)), SANs: req.sans, User: req.user,
	}
	return token.Sign(key, claims, map[string]any{nebula.Header: header})
}
