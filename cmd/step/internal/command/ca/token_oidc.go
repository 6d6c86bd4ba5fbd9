package ca

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/mayfly-pki/mayfly/cmd/step/internal/oauthflow"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/ui"
	"github.com/mayfly-pki/mayfly/provisioner/token"
)

// oidcFlags are the flags of the OIDC provisioner's login flow.
func oidcFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "console", Usage: "Complete the OIDC flow without a browser: print the URL and read the code from the terminal."},
		&cli.StringFlag{Name: "listen", Usage: "The `address` of the OIDC redirect listener (default: the provisioner's listenAddress, else an ephemeral port on 127.0.0.1)."},
	}
}

// oidcProvisioner is what the CLI needs of an OIDC provisioner listed by
// the CA (its clientSecret is public by design, wire-spec §3.4).
type oidcProvisioner struct {
	Type                  string   `json:"type"`
	Name                  string   `json:"name"`
	ClientID              string   `json:"clientID"`
	ClientSecret          string   `json:"clientSecret"`
	ConfigurationEndpoint string   `json:"configurationEndpoint"`
	ListenAddress         string   `json:"listenAddress"`
	Scopes                []string `json:"scopes"`
	AuthParams            []string `json:"authParams"`
}

// findOIDCProvisioner returns the OIDC provisioner --provisioner names, or
// the only provisioner when it is an OIDC one and none is named.
func findOIDCProvisioner(c *cli.Context, list []json.RawMessage) (*oidcProvisioner, bool) {
	name := c.String("provisioner")
	var found []oidcProvisioner
	for _, raw := range list {
		var p oidcProvisioner
		if json.Unmarshal(raw, &p) != nil {
			continue
		}
		if name != "" && p.Name == name && strings.EqualFold(p.Type, "OIDC") {
			return &p, true
		}
		if name == "" && strings.EqualFold(p.Type, "OIDC") {
			found = append(found, p)
		}
	}
	if name == "" && len(list) == 1 && len(found) == 1 {
		return &found[0], true
	}
	return nil, false
}

// oidcToken signs the user in with the provisioner's identity provider and
// returns the ID token, the one-time token of OIDC provisioners.
func oidcToken(c *cli.Context, p *oidcProvisioner, subject string) (string, error) {
	ui.PrintSelected("Provisioner", fmt.Sprintf("%s (OIDC) [client: %s]", p.Name, p.ClientID))
	listen := c.String("listen")
	if listen == "" {
		listen = p.ListenAddress
	}
	o := oauthflow.Options{
		Provider: p.ConfigurationEndpoint, ClientID: p.ClientID, ClientSecret: p.ClientSecret,
		Scopes: p.Scopes, AuthParams: p.AuthParams, Listen: listen, Console: c.Bool("console"),
		In: os.Stdin, Out: os.Stderr,
	}
	if strings.Contains(subject, "@") {
		o.LoginHint = subject
	}
	r, err := oauthflow.Run(c.Context, o)
	if err != nil {
		return "", err
	}
	return r.IDToken, nil
}

// oidcPayload is what the CLI reads of an ID token.
type oidcPayload struct {
	Issuer  string `json:"iss"`
	Subject string `json:"sub"`
	Email   string `json:"email"`
}

// oidcNames returns the CSR's subject and SANs for an OIDC ID token, as
// step builds them: with no --san and the argument equal to the token's
// email, CN = the token's sub and SANs = the email and <iss>#<sub>;
// otherwise the argument and SANs as given. ok is false for other tokens.
// The argument must be the token's email (step's check).
func oidcNames(raw, subject string, sans []string) (string, []string, bool, error) {
	tok, err := token.Parse(raw)
	if err != nil || len(tok.Claims.SANs) > 0 {
		return "", nil, false, nil
	}
	var pl oidcPayload
	parts := strings.Split(raw, ".")
	if b, err := decodeSegment(parts[1]); err != nil || json.Unmarshal(b, &pl) != nil || pl.Email == "" {
		return "", nil, false, nil
	}
	if len(sans) == 0 && strings.EqualFold(subject, pl.Email) {
		sans = []string{pl.Email}
		if u, err := url.Parse(pl.Issuer); err == nil && u.Scheme != "" {
			u.Fragment = pl.Subject
			sans = append(sans, u.String())
		}
		return pl.Subject, sans, true, nil
	}
	if !strings.EqualFold(subject, pl.Email) {
		return "", nil, true, fmt.Errorf("token email '%s' and argument '%s' do not match", pl.Email, subject)
	}
	return subject, sans, true, nil
}

// decodeSegment decodes a base64url JWS segment, padded or not.
func decodeSegment(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}
