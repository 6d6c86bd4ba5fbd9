package ca

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/urfave/cli/v2"

	"github.com/mayfly-pki/mayfly/api/wire"
	"github.com/mayfly-pki/mayfly/ca/client"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/ui"
	mjose "github.com/mayfly-pki/mayfly/internal/jose"
	"github.com/mayfly-pki/mayfly/internal/pemutil"
	"github.com/mayfly-pki/mayfly/provisioner/token"
)

// adminIssuer is the iss of step's admin tokens.
const adminIssuer = "step-admin-client/1.0"

// adminClient calls the admin API with a certificate of an admin: given
// (--admin-cert, --admin-key) or, as step does, issued for the call by the
// admin provisioner (--admin-provisioner, --admin-subject,
// --admin-password-file).
type adminClient struct {
	cl    *client.Client
	chain []*x509.Certificate
	key   *jose.JSONWebKey
}

func newAdminClient(c *cli.Context) (*adminClient, error) {
	cl, _, err := newClient(c)
	if err != nil {
		return nil, err
	}
	a := &adminClient{cl: cl}
	if certFile, keyFile := c.String("admin-cert"), c.String("admin-key"); certFile != "" || keyFile != "" {
		if certFile == "" || keyFile == "" {
			return nil, errors.New("flags --admin-cert and --admin-key must be used together")
		}
		return a, a.readCredentials(c, certFile, keyFile)
	}
	return a, a.issueCredentials(c)
}

func (a *adminClient) readCredentials(c *cli.Context, certFile, keyFile string) error {
	chain, err := pemutil.ReadCertificates(certFile)
	if err != nil {
		return fmt.Errorf("--admin-cert: %w", err)
	}
	data, err := os.ReadFile(keyFile)
	if err != nil {
		return fmt.Errorf("--admin-key: error reading %s: %w", keyFile, err)
	}
	var pass []byte
	if pemutil.IsEncrypted(data) {
		if pass, err = ui.ReadPassword(ui.PasswordFlag(c, "admin-password-file"), "Please enter the password to decrypt "+keyFile+":"); err != nil {
			return err
		}
	}
	signer, err := pemutil.ParsePrivateKey(data, pass)
	if err != nil {
		return fmt.Errorf("--admin-key: error reading %s: %w", keyFile, err)
	}
	if pub, ok := signer.Public().(interface{ Equal(crypto.PublicKey) bool }); !ok || !pub.Equal(chain[0].PublicKey) {
		return fmt.Errorf("--admin-key: %s is not the key of the certificate in %s", keyFile, certFile)
	}
	a.chain = chain
	a.key, err = mjose.NewSigningJWK(signer)
	return err
}

// issueCredentials gets a short-lived admin certificate: a sign token of
// the admin provisioner for the admin subject, a new P-256 key, POST /sign.
func (a *adminClient) issueCredentials(c *cli.Context) error {
	subject := c.String("admin-subject")
	if subject == "" {
		if !ui.IsTerminal() {
			return errors.New("flag --admin-subject is required (stdin is not a terminal), or use --admin-cert and --admin-key")
		}
		fmt.Fprint(os.Stderr, "Please enter admin name/subject (e.g. john@smallstep.com): ")
		if _, err := fmt.Fscanln(os.Stdin, &subject); err != nil || subject == "" {
			return errors.New("an admin subject is required")
		}
	}
	ctx, cancel := timeoutCtx(c)
	defer cancel()
	list, err := a.cl.Provisioners(ctx)
	if err != nil {
		return err
	}
	name := c.String("admin-provisioner")
	var p *provInfo
	var jwks []provInfo
	for _, raw := range list {
		var q provInfo
		if json.Unmarshal(raw, &q) == nil && strings.EqualFold(q.Type, "JWK") && (name == "" || q.Name == name) {
			jwks = append(jwks, q)
		}
	}
	switch {
	case len(jwks) == 1:
		p = &jwks[0]
	case len(jwks) == 0 && name != "":
		return fmt.Errorf("admin provisioner %q not found or not a JWK provisioner", name)
	case len(jwks) == 0:
		return errors.New("the CA has no JWK provisioner to issue an admin certificate")
	default:
		return errors.New("there is more than one JWK provisioner: use --admin-provisioner to choose one")
	}
	ui.PrintSelected("Admin Provisioner", fmt.Sprintf("%s (JWK) [kid: %s]", p.Name, p.kid()))
	enc := p.EncryptedKey
	if enc == "" {
		if enc, err = a.cl.EncryptedKey(ctx, p.kid()); err != nil {
			return err
		}
	}
	pass, err := ui.ReadPassword(ui.PasswordFlag(c, "admin-password-file"), "Please enter the password to decrypt the provisioner key "+p.Name+":")
	if err != nil {
		return err
	}
	pkey, err := mjose.DecryptJWK(enc, pass)
	if err != nil {
		return fmt.Errorf("error decrypting the key of provisioner %s: %w", p.Name, err)
	}
	pkey.KeyID = p.kid()
	ott, err := signToken(pkey, p.Name, a.cl.URL().String()+"/1.0/sign", "", tokenRequest{subject: subject, sans: []string{subject}})
	if err != nil {
		return err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.CertificateRequest{Subject: pkix.Name{CommonName: subject}}
	switch ip := net.ParseIP(subject); {
	case ip != nil:
		tmpl.IPAddresses = []net.IP{ip}
	case strings.Contains(subject, "@"):
		tmpl.EmailAddresses = []string{subject}
	default:
		tmpl.DNSNames = []string{subject}
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		return err
	}
	resp, err := a.cl.Sign(ctx, &wire.SignRequest{CSR: string(pemutil.EncodeCSR(der)), OTT: ott})
	if err != nil {
		return err
	}
	pems := resp.Certificate
	for _, s := range resp.CertChain[min(1, len(resp.CertChain)):] {
		pems += s
	}
	if a.chain, err = pemutil.ParseCertificates([]byte(pems)); err != nil {
		return fmt.Errorf("the admin certificate the CA answered: %w", err)
	}
	a.key, err = mjose.NewSigningJWK(key)
	return err
}

// token mints a single-use admin token for path.
func (a *adminClient) token(path string) (string, error) {
	jti, err := token.NewID()
	if err != nil {
		return "", err
	}
	now := time.Now()
	u := *a.cl.URL()
	u.Path, u.RawQuery = strings.TrimSuffix(u.Path, "/")+path, ""
	claims := &token.Claims{
		Audience: token.Audience{u.String()}, Issuer: adminIssuer, Subject: a.chain[0].Subject.CommonName, ID: jti,
		IssuedAt: token.NewNumericDate(now), NotBefore: token.NewNumericDate(now), Expiry: token.NewNumericDate(now.Add(5 * time.Minute)),
	}
	x5c := make([]string, len(a.chain))
	for i, cert := range a.chain {
		x5c[i] = base64.StdEncoding.EncodeToString(cert.Raw)
	}
	return token.Sign(a.key, claims, map[string]any{"x5c": x5c})
}

// call sends one admin request; path may carry a query.
func (a *adminClient) call(c *cli.Context, method, path string, body, out any) error {
	p, _, _ := strings.Cut(path, "?")
	tok, err := a.token(p)
	if err != nil {
		return err
	}
	ctx, cancel := timeoutCtx(c)
	defer cancel()
	return a.cl.Admin(ctx, method, path, tok, body, out)
}
