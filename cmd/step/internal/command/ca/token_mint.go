package ca

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/urfave/cli/v2"

	"github.com/mayfly-pki/mayfly/ca/client"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/ui"
	mjose "github.com/mayfly-pki/mayfly/internal/jose"
	"github.com/mayfly-pki/mayfly/internal/pemutil"
	"github.com/mayfly-pki/mayfly/provisioner/token"
)

// provInfo is what the CLI needs of a provisioner listed by the CA.
type provInfo struct {
	Type         string           `json:"type"`
	Name         string           `json:"name"`
	Key          *jose.JSONWebKey `json:"key,omitempty"`
	EncryptedKey string           `json:"encryptedKey,omitempty"`
}

func (p provInfo) kid() string {
	if p.Key != nil {
		return p.Key.KeyID
	}
	return ""
}

// tokenRequest describes one token to mint.
type tokenRequest struct {
	subject  string
	sans     []string
	path     string // audience path: "/1.0/sign" or "/1.0/revoke"
	validity time.Duration
	notBef   time.Time
	user     map[string]any // nil: no "user" claim; `step ca token` sends {}
	// ssh is the step.ssh claim of an SSH sign token (wire-spec §4.3).
	ssh *token.SSHOptions
}

// selectProvisioner picks the JWK provisioner named by --provisioner (and
// --kid), the only one, or asks on a terminal.
func selectProvisioner(c *cli.Context, list []json.RawMessage) (*provInfo, error) {
	var jwks []provInfo
	for _, raw := range list {
		var p provInfo
		if json.Unmarshal(raw, &p) == nil && strings.EqualFold(p.Type, "JWK") {
			jwks = append(jwks, p)
		}
	}
	name, kid := c.String("provisioner"), c.String("kid")
	var match []provInfo
	for _, p := range jwks {
		if (name == "" || p.Name == name) && (kid == "" || p.kid() == kid) {
			match = append(match, p)
		}
	}
	switch {
	case len(match) == 1:
		return &match[0], nil
	case len(match) == 0 && name != "":
		return nil, fmt.Errorf("provisioner %q not found or not a JWK provisioner", name)
	case len(match) == 0:
		return nil, errors.New("cannot create a new token: the CA does not have any JWK provisioner")
	}
	if !ui.IsTerminal() {
		return nil, fmt.Errorf("there is more than one provisioner: use --provisioner to choose one")
	}
	fmt.Fprintln(os.Stderr, "Use the number to select a provisioner:")
	for i, p := range match {
		fmt.Fprintf(os.Stderr, "  %d: %s (JWK) [kid: %s]\n", i+1, p.Name, p.kid())
	}
	fmt.Fprint(os.Stderr, "✔ Provisioner: ")
	var n int
	if _, err := fmt.Fscan(os.Stdin, &n); err != nil || n < 1 || n > len(match) {
		return nil, errors.New("invalid provisioner selection")
	}
	return &match[n-1], nil
}

// provisionerPassword reads the password of the provisioner key from
// --provisioner-password-file, then --password-file when allowed, else prompts.
func provisionerPassword(c *cli.Context, allowPasswordFile bool, name string) ([]byte, error) {
	pw := ui.PasswordFlag(c, "provisioner-password-file")
	if pw.File == "" && allowPasswordFile {
		if alt := ui.PasswordFlag(c, "password-file"); alt.File != "" {
			pw = alt
		}
	}
	return ui.ReadPassword(pw, fmt.Sprintf("Please enter the password to decrypt the provisioner key %s:", name))
}

// loadProvisionerKey returns the provisioner's private JWK: --key (a JWK or
// PEM file), or its encryptedKey from the CA, decrypted.
func loadProvisionerKey(ctx context.Context, c *cli.Context, cl *client.Client, p *provInfo, allowPasswordFile bool) (*jose.JSONWebKey, error) {
	if path := c.String("key"); path != "" {
		return readJWKFile(c, path, p, allowPasswordFile)
	}
	enc := p.EncryptedKey
	if enc == "" {
		var err error
		if enc, err = cl.EncryptedKey(ctx, p.kid()); err != nil {
			return nil, err
		}
	}
	if enc == "" {
		return nil, fmt.Errorf("provisioner %q has no encrypted key: use --key", p.Name)
	}
	pass, err := provisionerPassword(c, allowPasswordFile, p.Name)
	if err != nil {
		return nil, err
	}
	k, err := mjose.DecryptJWK(enc, pass)
	if err != nil {
		if errors.Is(err, mjose.ErrBadPassword) {
			return nil, fmt.Errorf("error decrypting the key of provisioner %q: the password is incorrect", p.Name)
		}
		return nil, fmt.Errorf("error decrypting the key of provisioner %q: %w", p.Name, err)
	}
	if k.KeyID == "" {
		k.KeyID = p.kid()
	}
	return k, nil
}

// readJWKFile reads a private key file given with --key: a (possibly
// encrypted) JWK, or a PEM key.
func readJWKFile(c *cli.Context, path string, p *provInfo, allowPasswordFile bool) (*jose.JSONWebKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("error reading key: %w", err)
	}
	s := strings.TrimSpace(string(data))
	var k *jose.JSONWebKey
	switch {
	case strings.HasPrefix(s, "{"):
		k = new(jose.JSONWebKey)
		if err := k.UnmarshalJSON([]byte(s)); err != nil {
			return nil, fmt.Errorf("error reading key %s: %w", path, err)
		}
	case strings.Count(s, ".") == 4 && !strings.Contains(s, "-----"):
		pass, err := provisionerPassword(c, allowPasswordFile, p.Name)
		if err != nil {
			return nil, err
		}
		if k, err = mjose.DecryptJWK(s, pass); err != nil {
			return nil, fmt.Errorf("error decrypting %s: %w", path, err)
		}
	default:
		var pass []byte
		if pemutil.IsEncrypted(data) {
			if pass, err = provisionerPassword(c, allowPasswordFile, p.Name); err != nil {
				return nil, err
			}
		}
		signer, err := pemutil.ParsePrivateKey(data, pass)
		if err != nil {
			return nil, fmt.Errorf("error reading key %s: %w", path, err)
		}
		if k, err = mjose.NewSigningJWK(signer); err != nil {
			return nil, err
		}
	}
	if k.IsPublic() {
		return nil, fmt.Errorf("key %s is a public key; a private key is required", path)
	}
	if k.Algorithm == "" {
		alg, err := mjose.SigningAlgorithm(k.Public().Key)
		if err != nil {
			return nil, err
		}
		k.Algorithm = string(alg)
	}
	if p.kid() != "" {
		k.KeyID = p.kid()
	}
	return k, nil
}

// mintToken creates a JWK one-time token for req, fetching and decrypting the
// provisioner key as needed, and prints the provisioner selected.
func mintToken(c *cli.Context, cl *client.Client, rootSHA string, req tokenRequest, allowPasswordFile bool) (string, error) {
	ctx, cancel := timeoutCtx(c)
	defer cancel()
	x5c, err := usesX5C(c)
	if err != nil {
		return "", err
	}
	list, err := cl.Provisioners(ctx)
	if err != nil {
		return "", err
	}
	if neb, err := usesNebula(c); err != nil || neb {
		if err != nil {
			return "", err
		}
		return mintNebulaToken(c, list, cl.URL().String(), rootSHA, req)
	}
	if p, ok := selectK8sSAProvisioner(c, list); ok && !x5c {
		ui.PrintSelected("Provisioner", p.Name+" (K8sSA)")
		return readK8sSAToken(c)
	}
	if p, ok := findCloudProvisioner(c.String("provisioner"), list); ok && !x5c {
		ui.PrintSelected("Provisioner", fmt.Sprintf("%s (%s)", p.Name, p.Type))
		return mintCloudToken(ctx, p, cl.URL().String(), req.subject, req.path)
	}
	if p, ok := findOIDCProvisioner(c, list); ok && !x5c {
		return oidcToken(c, p, req.subject)
	}
	if x5c {
		p, err := selectX5CProvisioner(c, list)
		if err != nil {
			return "", err
		}
		ui.PrintSelected("Provisioner", p.Name+" (X5C)")
		chain, key, err := readX5C(c, allowPasswordFile)
		if err != nil {
			return "", err
		}
		return signTokenWith(key, p.Name, cl.URL().String()+req.path+"#x5c/"+p.Name, rootSHA, req, map[string]any{"x5c": chain})
	}
	p, err := selectProvisioner(c, list)
	if err != nil {
		return "", err
	}
	ui.PrintSelected("Provisioner", fmt.Sprintf("%s (JWK) [kid: %s]", p.Name, p.kid()))
	key, err := loadProvisionerKey(ctx, c, cl, p, allowPasswordFile)
	if err != nil {
		return "", err
	}
	return signToken(key, p.Name, cl.URL().String()+req.path, rootSHA, req)
}

func signToken(key *jose.JSONWebKey, issuer, audience, rootSHA string, req tokenRequest) (string, error) {
	return signTokenWith(key, issuer, audience, rootSHA, req, nil)
}

// signTokenWith is signToken with extra header fields (x5c).
func signTokenWith(key *jose.JSONWebKey, issuer, audience, rootSHA string, req tokenRequest, headers map[string]any) (string, error) {
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
		Audience: token.Audience{audience}, Issuer: issuer, Subject: req.subject, ID: jti, SHA: rootSHA,
		IssuedAt: token.NewNumericDate(now), NotBefore: token.NewNumericDate(nbf),
		Expiry: token.NewNumericDate(nbf.Add(validity)), SANs: req.sans, User: req.user,
	}
	if req.ssh != nil {
		claims.Step = &token.StepClaims{SSH: req.ssh}
	}
	return token.Sign(key, claims, headers)
}
