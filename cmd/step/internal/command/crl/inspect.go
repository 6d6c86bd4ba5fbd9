package crl

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/mayfly-pki/mayfly/cmd/step/internal/app"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/certinfo"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/flags"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/ui"
)

// maxCRLSize bounds a CRL read from a file or a URL.
const maxCRLSize = 128 << 20

func inspectCommand() *cli.Command {
	return &cli.Command{
		Name:      "inspect",
		Usage:     "print certificate revocation list (CRL) details in human-readable format",
		UsageText: "**step crl inspect** <file|url> [**--format**=<format>] [**--from**] [**--ca**=<issuer-cert>] [**--roots**=<root-bundle>] [**--insecure**]",
		Description: `**step crl inspect** prints the details of a CRL read from a file (DER or
PEM), from a URL, or with --from from the first CRL distribution point of a
certificate. With --ca the signature is checked against that issuer and
"Valid" says whether it holds.

    $ step crl inspect crl.der
    $ step crl inspect https://ca.example.com/1.0/crl --roots root_ca.crt --format json
    $ step crl inspect --from leaf.crt --ca intermediate_ca.crt`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "format", Value: "text", Usage: "The output `format`: text, json or pem."},
			&cli.BoolFlag{Name: "from", Usage: "Read the CRL from the distribution point of the certificate given as the argument."},
			&cli.StringFlag{Name: "ca", Usage: "The issuer certificate `file` the CRL signature is checked with."},
			flags.Roots("Root certificate(s) that HTTPS CRL endpoints are verified with: a `list` of files separated by commas. Defaults to the system roots."),
			&cli.BoolFlag{Name: "insecure", Usage: "Do not verify the HTTPS endpoint's certificate."},
		},
		Action: inspectAction,
	}
}

func inspectAction(c *cli.Context) error {
	if err := app.CheckArgs(c, 1, 1); err != nil {
		return err
	}
	format := c.String("format")
	switch format {
	case "text", "json", "pem":
	default:
		return fmt.Errorf("invalid value '%s' for flag '--format'; options are text, json or pem", format)
	}
	src := c.Args().First()
	if c.Bool("from") {
		der, err := ui.ReadInput(src)
		if err != nil {
			return err
		}
		if b, _ := pem.Decode(der); b != nil {
			der = b.Bytes
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			return fmt.Errorf("error parsing %s: %w", src, err)
		}
		if len(cert.CRLDistributionPoints) == 0 {
			return fmt.Errorf("certificate %s has no CRL distribution point", src)
		}
		src = cert.CRLDistributionPoints[0]
	}
	data, err := read(c, src)
	if err != nil {
		return err
	}
	der := data
	if b, _ := pem.Decode(data); b != nil {
		if b.Type != "X509 CRL" {
			return fmt.Errorf("error parsing %s: expected a PEM block of type \"X509 CRL\", got %q", src, b.Type)
		}
		der = b.Bytes
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		return fmt.Errorf("error parsing %s: %w", src, err)
	}
	var valid *bool
	if f := c.String("ca"); f != "" {
		b, err := ui.ReadInput(f)
		if err != nil {
			return err
		}
		if p, _ := pem.Decode(b); p != nil {
			b = p.Bytes
		}
		issuer, err := x509.ParseCertificate(b)
		if err != nil {
			return fmt.Errorf("error parsing %s: %w", f, err)
		}
		ok := crl.CheckSignatureFrom(issuer) == nil
		valid = &ok
	}
	w := c.App.Writer
	switch format {
	case "pem":
		return pem.Encode(w, &pem.Block{Type: "X509 CRL", Bytes: der})
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(toJSON(crl, valid))
	}
	_, err = io.WriteString(w, text(crl, valid))
	return err
}

// read returns the bytes of a file or an http(s) URL, bounded.
func read(c *cli.Context, src string) ([]byte, error) {
	lower := strings.ToLower(src)
	if !strings.HasPrefix(lower, "https://") && !strings.HasPrefix(lower, "http://") {
		f, err := os.Open(filepath.Clean(src))
		if err != nil {
			return nil, fmt.Errorf("error reading %s: %w", src, err)
		}
		defer f.Close()
		return limited(f, src)
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: c.Bool("insecure")} //nolint:gosec // --insecure
	if spec := c.String("roots"); spec != "" {
		pool := x509.NewCertPool()
		for _, f := range strings.Split(spec, ",") {
			b, err := os.ReadFile(filepath.Clean(f))
			if err != nil {
				return nil, fmt.Errorf("error reading %s: %w", f, err)
			}
			if !pool.AppendCertsFromPEM(b) {
				return nil, fmt.Errorf("error reading %s: no PEM certificate", f)
			}
		}
		tc.RootCAs = pool
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, src, nil)
	if err != nil {
		return nil, fmt.Errorf("invalid URL %q: %w", src, err)
	}
	hc := &http.Client{Transport: &http.Transport{Proxy: http.ProxyFromEnvironment, TLSClientConfig: tc}}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("error downloading %s: %w", src, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("error downloading %s: unexpected HTTP status code - '%d'", src, resp.StatusCode)
	}
	return limited(resp.Body, src)
}

func limited(r io.Reader, src string) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxCRLSize+1))
	if err != nil {
		return nil, fmt.Errorf("error reading %s: %w", src, err)
	}
	if len(b) > maxCRLSize {
		return nil, fmt.Errorf("error reading %s: larger than %d bytes", src, maxCRLSize)
	}
	return b, nil
}

var (
	oidAKI       = asn1.ObjectIdentifier{2, 5, 29, 35}
	oidCRLNumber = asn1.ObjectIdentifier{2, 5, 29, 20}
	oidIDP       = asn1.ObjectIdentifier{2, 5, 29, 28}
	reasons      = []string{"Unspecified", "Key Compromise", "CA Compromise", "Affiliation Changed", "Superseded",
		"Cessation Of Operation", "Certificate Hold", "", "Remove From CRL", "Privilege Withdrawn", "AA Compromise"}
)

func reason(code int) string {
	if code >= 0 && code < len(reasons) && reasons[code] != "" {
		return reasons[code]
	}
	return fmt.Sprintf("Unknown (%d)", code)
}

func colonHex(b []byte) string {
	parts := make([]string, len(b))
	for i, v := range b {
		parts[i] = fmt.Sprintf("%02X", v)
	}
	return strings.Join(parts, ":")
}

func serialText(n *big.Int) string {
	return fmt.Sprintf("%s (0x%X)", n, n)
}

// extension describes one CRL extension: its name and detail lines.
func extension(e pkix.Extension, crl *x509.RevocationList) (string, []string) {
	switch {
	case e.Id.Equal(oidAKI):
		return "X509v3 Authority Key Identifier", []string{"keyid:" + colonHex(crl.AuthorityKeyId)}
	case e.Id.Equal(oidCRLNumber):
		return "X509v3 CRL Number", []string{crl.Number.String()}
	case e.Id.Equal(oidIDP):
		lines := []string{}
		for _, u := range idpURIs(e.Value) {
			lines = append(lines, "Full Name:", "    URI:"+u)
		}
		return "X509v3 Issuing Distribution Point", lines
	}
	return e.Id.String(), []string{colonHex(e.Value)}
}

// idpURIs returns the URIs of an issuing distribution point's full name.
func idpURIs(der []byte) []string {
	var seq asn1.RawValue
	if _, err := asn1.Unmarshal(der, &seq); err != nil {
		return nil
	}
	var out []string
	var walk func(b []byte, depth int)
	walk = func(b []byte, depth int) {
		for len(b) > 0 && depth < 4 {
			var v asn1.RawValue
			rest, err := asn1.Unmarshal(b, &v)
			if err != nil {
				return
			}
			if v.Class == asn1.ClassContextSpecific && v.Tag == 6 && !v.IsCompound {
				out = append(out, string(v.Bytes))
			} else if v.IsCompound {
				walk(v.Bytes, depth+1)
			}
			b = rest
		}
	}
	walk(seq.Bytes, 0)
	return out
}

func text(crl *x509.RevocationList, valid *bool) string {
	var b strings.Builder
	b.WriteString("Certificate Revocation List (CRL):\n    Data:\n")
	if valid != nil {
		fmt.Fprintf(&b, "        Valid: %v\n", *valid)
	}
	b.WriteString("        Version: 2 (0x1)\n")
	fmt.Fprintf(&b, "    Signature algorithm: %s\n", crl.SignatureAlgorithm)
	fmt.Fprintf(&b, "        Issuer: %s\n", certinfo.Name(crl.Issuer))
	fmt.Fprintf(&b, "        Last Update: %s\n", crl.ThisUpdate.UTC())
	if !crl.NextUpdate.IsZero() {
		fmt.Fprintf(&b, "        Next Update: %s\n", crl.NextUpdate.UTC())
	}
	if len(crl.Extensions) > 0 {
		b.WriteString("        CRL Extensions:\n")
		for _, e := range crl.Extensions {
			name, lines := extension(e, crl)
			if e.Critical {
				name += ": critical"
			}
			fmt.Fprintf(&b, "            %s\n", name)
			for _, l := range lines {
				fmt.Fprintf(&b, "                %s\n", l)
			}
		}
	}
	if len(crl.RevokedCertificateEntries) == 0 {
		b.WriteString("    No Revoked Certificates.\n")
	} else {
		b.WriteString("    Revoked Certificates:\n")
		for _, e := range crl.RevokedCertificateEntries {
			fmt.Fprintf(&b, "        Serial Number: %s\n", serialText(e.SerialNumber))
			fmt.Fprintf(&b, "            Revocation Date: %s\n", e.RevocationTime.UTC())
			if e.ReasonCode != 0 {
				fmt.Fprintf(&b, "            CRL Entry Extensions:\n                X509v3 CRL Reason Code:\n                    %s\n", reason(e.ReasonCode))
			}
		}
	}
	fmt.Fprintf(&b, "    Signature Algorithm: %s\n", crl.SignatureAlgorithm)
	sig := colonHex(crl.Signature)
	for len(sig) > 0 {
		n := min(len(sig), 54)
		fmt.Fprintf(&b, "         %s\n", strings.ToLower(sig[:n]))
		sig = sig[n:]
	}
	return b.String()
}

type jsonExtension struct {
	Name     string   `json:"name"`
	OID      string   `json:"oid"`
	Critical bool     `json:"critical,omitempty"`
	Details  []string `json:"details"`
}

type jsonEntry struct {
	SerialNumber   string    `json:"serial_number"`
	RevocationTime time.Time `json:"revocation_time"`
	ReasonCode     int       `json:"reason_code,omitempty"`
	Reason         string    `json:"reason,omitempty"`
}

type jsonCRL struct {
	Valid               *bool           `json:"valid,omitempty"`
	Version             int             `json:"version"`
	SignatureAlgorithm  string          `json:"signature_algorithm"`
	Issuer              string          `json:"issuer"`
	ThisUpdate          time.Time       `json:"this_update"`
	NextUpdate          time.Time       `json:"next_update"`
	Number              string          `json:"crl_number,omitempty"`
	RevokedCertificates []jsonEntry     `json:"revoked_certificates"`
	Extensions          []jsonExtension `json:"extensions,omitempty"`
	Signature           string          `json:"signature"`
}

func toJSON(crl *x509.RevocationList, valid *bool) jsonCRL {
	out := jsonCRL{
		Valid: valid, Version: 2, SignatureAlgorithm: crl.SignatureAlgorithm.String(), Issuer: certinfo.Name(crl.Issuer),
		ThisUpdate: crl.ThisUpdate.UTC(), NextUpdate: crl.NextUpdate.UTC(), RevokedCertificates: []jsonEntry{},
		Signature: colonHex(crl.Signature),
	}
	if crl.Number != nil {
		out.Number = crl.Number.String()
	}
	for _, e := range crl.RevokedCertificateEntries {
		je := jsonEntry{SerialNumber: e.SerialNumber.String(), RevocationTime: e.RevocationTime.UTC(), ReasonCode: e.ReasonCode}
		if e.ReasonCode != 0 {
			je.Reason = reason(e.ReasonCode)
		}
		out.RevokedCertificates = append(out.RevokedCertificates, je)
	}
	for _, e := range crl.Extensions {
		name, lines := extension(e, crl)
		out.Extensions = append(out.Extensions, jsonExtension{Name: name, OID: e.Id.String(), Critical: e.Critical, Details: lines})
	}
	return out
}
