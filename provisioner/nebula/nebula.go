// Package nebula is the Nebula provisioner: one-time tokens signed by the
// key of a Nebula host certificate, carried in the token's "nebula" header,
// that verifies to the provisioner's Nebula CA certificates (wire-spec
// §4.8, §5.1, §7). Curve25519 certificates sign with XEdDSA (their keys
// are X25519 keys), P-256 certificates with ES256, as step-ca verifies.
package nebula

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/slackhq/nebula/cert"

	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/internal/xeddsa"
	"github.com/mayfly-pki/mayfly/provisioner"
	"github.com/mayfly-pki/mayfly/provisioner/internal/base"
	"github.com/mayfly-pki/mayfly/provisioner/token"
	"github.com/mayfly-pki/mayfly/provisioner/validate"
	"github.com/mayfly-pki/mayfly/provisioner/webhook"
)

// Header is the token header that holds the Nebula certificate: the
// standard base64 of its marshalled bytes (step's token.WithNebulaCert).
const Header = "nebula"

// AuthorizationCrtKey is the template data key of the token's Nebula
// certificate, as step-ca sets it (x509util.AuthorizationCrtKey).
const AuthorizationCrtKey = "AuthorizationCrt"

// maxCertSize bounds the decoded nebula header: a host certificate is a few
// hundred bytes.
const maxCertSize = 16 << 10

type config struct {
	provisioner.Base
	// Roots are the Nebula CA certificates in PEM; in ca.json the base64 of
	// them (a JSON []byte).
	Roots []byte `json:"roots"`
}

// Provisioner is a configured Nebula provisioner.
type Provisioner struct {
	info      provisioner.Info
	pool      *cert.CAPool
	claims    provisioner.Resolved
	raw       json.RawMessage
	audiences provisioner.Audiences
	fragment  string // "nebula/<name>": the audience fragment and token ID
	now       func() time.Time
	x509      *provisioner.X509Template // nil: the default leaf
	webhooks  *webhook.Set              // nil: none
	modifiers []provisioner.CertModifier
}

var _ provisioner.Interface = (*Provisioner)(nil)

// New builds a Nebula provisioner from its ca.json entry.
func New(raw json.RawMessage, cfg provisioner.Config) (provisioner.Interface, error) {
	var c config
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("invalid Nebula provisioner: %w", err)
	}
	if c.Name == "" {
		return nil, errors.New("provisioner name cannot be empty")
	}
	if len(c.Roots) == 0 {
		return nil, fmt.Errorf("Nebula provisioner %q: roots: provisioner root(s) cannot be empty", c.Name)
	}
	pool, err := parseRoots(c.Roots)
	if err != nil {
		return nil, fmt.Errorf("Nebula provisioner %q: roots: failed to create ca pool: %w", c.Name, err)
	}
	id := "nebula/" + c.Name
	info := provisioner.Info{ID: id, Name: c.Name, Type: provisioner.TypeNebula}
	parts, err := base.Parse(info, c.Base, raw, cfg)
	if err != nil {
		return nil, err
	}
	claims := parts.Claims
	p := &Provisioner{
		info: info, pool: pool, claims: claims, raw: parts.Raw, audiences: cfg.Audiences, fragment: id,
		now: cfg.Clock(), x509: parts.X509, webhooks: parts.Webhooks,
	}
	if !claims.DisableSmallstepExtensions {
		ext, err := validate.NewExtension(p.info)
		if err != nil {
			return nil, fmt.Errorf("Nebula provisioner %q: %w", c.Name, err)
		}
		p.modifiers = []provisioner.CertModifier{ext}
	}
	return p, nil
}

// parseRoots reads the Nebula CA certificates of a PEM bundle (v1 or v2):
// at least one, each a CA.
func parseRoots(b []byte) (*cert.CAPool, error) {
	pool := cert.NewCAPool()
	n := 0
	for rest := bytes.TrimSpace(b); len(rest) > 0; rest = bytes.TrimSpace(rest) {
		var c cert.Certificate
		var err error
		c, rest, err = cert.UnmarshalCertificateFromPEM(rest)
		if err != nil {
			return nil, fmt.Errorf("certificate %d: %w", n+1, err)
		}
		n++
		// AddCA adds a CA outside its validity at the wall clock and says
		// so with ErrExpired: requests check the validity at the CA's clock
		// (ErrRootExpired), so such a root only refuses tokens.
		if err := pool.AddCA(c); err != nil && !errors.Is(err, cert.ErrExpired) {
			return nil, fmt.Errorf("certificate %d (%s): %w", n, c.Name(), err)
		}
	}
	if n == 0 {
		return nil, errors.New("no Nebula CA certificates found (roots must be the base64 of PEM-encoded Nebula CA certificates)")
	}
	return pool, nil
}

// ParseCertificate decodes the value of a token's nebula header: the
// standard base64 of a marshalled Nebula certificate, v1 (protobuf) or v2
// (ASN.1, which starts with a SEQUENCE).
func ParseCertificate(header string) (cert.Certificate, error) {
	if header == "" {
		return nil, errors.New("nebula header is missing")
	}
	if base64.StdEncoding.DecodedLen(len(header)) > maxCertSize {
		return nil, errors.New("nebula header is too large")
	}
	der, err := base64.StdEncoding.DecodeString(header)
	if err != nil {
		return nil, fmt.Errorf("nebula header is not valid: %w", err)
	}
	banner := cert.CertificateBanner
	if len(der) > 0 && der[0] == 0x30 {
		banner = cert.CertificateV2Banner
	}
	c, _, err := cert.UnmarshalCertificateFromPEM(pem.EncodeToMemory(&pem.Block{Type: banner, Bytes: der}))
	if err != nil {
		return nil, fmt.Errorf("failed to parse nebula certificate: %w", err)
	}
	return c, nil
}

// Info implements provisioner.Interface.
func (p *Provisioner) Info() provisioner.Info { return p.info }

// TokenID implements provisioner.Interface: "nebula/<name>", the fragment of
// its tokens' audience.
func (p *Provisioner) TokenID() string { return p.fragment }

// Claims implements provisioner.Interface.
func (p *Provisioner) Claims() provisioner.Resolved { return p.claims }

// EncryptedKey implements provisioner.Interface: Nebula has none.
func (p *Provisioner) EncryptedKey() (string, string, bool) { return "", "", false }

// JSON implements provisioner.Interface.
func (p *Provisioner) JSON() json.RawMessage { return p.raw }

// xVerifier checks XEdDSA signatures by an X25519 key for go-jose.
type xVerifier []byte

// VerifyPayload implements jose.OpaqueVerifier.
func (v xVerifier) VerifyPayload(payload, sig []byte, alg jose.SignatureAlgorithm) error {
	if alg != token.XEdDSA {
		return jose.ErrUnsupportedAlgorithm
	}
	if !xeddsa.Verify(v, payload, sig) {
		return jose.ErrCryptoFailure
	}
	return nil
}

// publicKey returns the key a host certificate's tokens are verified with:
// the X25519 key (XEdDSA) of a Curve25519 certificate, the ECDSA key (ES256)
// of a P-256 one.
func publicKey(c cert.Certificate) (any, error) {
	switch c.Curve() {
	case cert.Curve_CURVE25519:
		if len(c.PublicKey()) != xeddsa.PublicKeySize {
			return nil, errors.New("invalid X25519 public key")
		}
		return xVerifier(c.PublicKey()), nil
	case cert.Curve_P256:
		return ecdsa.ParseUncompressedPublicKey(elliptic.P256(), c.PublicKey())
	}
	return nil, fmt.Errorf("unsupported curve %s", c.Curve())
}

// authorize runs step-ca's checks of a Nebula token (nebula.authorizeToken):
// the certificate in the nebula header verifies to the roots at now (not
// expired, signed by a configured CA, within its constraints), the token is
// signed by the certificate's key, and the issuer, times, audience and
// subject hold. It returns the certificate.
func (p *Provisioner) authorize(tok *token.Token, purpose provisioner.Purpose) (cert.Certificate, error) {
	now := p.now()
	crt, err := ParseCertificate(tok.HeaderString(Header))
	if err != nil {
		return nil, errs.E(errs.Unauthorized, "nebula.authorizeToken; failed to parse token: "+err.Error(), err)
	}
	if crt.IsCA() {
		return nil, errs.Errorf(errs.Unauthorized, "nebula.authorizeToken; token is not valid: nebula certificate is a CA certificate")
	}
	if _, err := p.pool.VerifyCertificate(now, crt); err != nil {
		return nil, errs.E(errs.Unauthorized, "nebula.authorizeToken; token is not valid: failed to verify certificate against configured CA", err)
	}
	pub, err := publicKey(crt)
	if err != nil {
		return nil, errs.E(errs.Unauthorized, "nebula.authorizeToken; token is not valid: "+err.Error(), err)
	}
	if err := tok.Verify(pub); err != nil {
		return nil, errs.E(errs.Unauthorized, "nebula.authorizeToken; token is not valid: signature does not match", err)
	}
	c := &tok.Claims
	if c.Issuer != p.info.Name {
		return nil, errs.Errorf(errs.Unauthorized, "nebula.authorizeToken; token is not valid: invalid claims: invalid issuer %q", c.Issuer)
	}
	if err := c.ValidateTime(now); err != nil {
		return nil, errs.E(errs.Unauthorized, "nebula.authorizeToken; token is not valid: invalid claims", err)
	}
	if !p.audiences.Match(purpose, c.Audience, p.fragment) {
		return nil, errs.Errorf(errs.Unauthorized, "nebula.authorizeToken; token is not valid: invalid claims")
	}
	if c.Subject == "" {
		return nil, errs.Errorf(errs.Unauthorized, "nebula.authorizeToken; token is not valid: subject cannot be empty")
	}
	return crt, nil
}

// Names returns the names a Nebula certificate vouches for: its name, then
// the addresses of its networks, as step-ca's default SANs for it.
func Names(c cert.Certificate) []string {
	nets := c.Networks()
	out := make([]string, 0, 1+len(nets))
	out = append(out, c.Name())
	for _, n := range nets {
		out = append(out, n.Addr().String())
	}
	return out
}

// plan is one request's plan with the options it points to, allocated
// together.
type plan struct {
	provisioner.X509Plan
	validators [2]provisioner.CSRValidator
	caps       [1]provisioner.CertCap
	window     validate.CredentialWindow
}

// AuthorizeSign implements provisioner.Interface, as step-ca's Nebula
// AuthorizeSign: the certificate's names are the token's sans, by default
// the Nebula certificate's name and network addresses; the CSR's common name
// is the token's subject and its SANs those names; the certificate lies
// within the Nebula certificate's validity; templates get .AuthorizationCrt.
//
// Mayfly is stricter than step-ca, which let a token name anything in sans
// (only the CSR's names were compared with the Nebula certificate): the
// subject and every SAN must be the Nebula certificate's name or one of its
// network addresses (403 otherwise).
func (p *Provisioner) AuthorizeSign(_ context.Context, tok *token.Token) (*provisioner.X509Plan, error) {
	crt, err := p.authorize(tok, provisioner.PurposeSign)
	if err != nil {
		return nil, err
	}
	c := &tok.Claims
	allowed := Names(crt)
	sans := c.SANs
	if len(sans) == 0 {
		sans = allowed
	}
	if err := within(c.Subject, sans, crt.Name(), crt.Networks()); err != nil {
		return nil, err
	}
	pl := &plan{window: validate.CredentialWindow{NotBefore: crt.NotBefore(), NotAfter: crt.NotAfter()}}
	pl.validators = [2]provisioner.CSRValidator{validate.CommonName(c.Subject), validate.SANs(sans)}
	pl.caps[0] = &pl.window
	pl.X509Plan = provisioner.X509Plan{
		Info: p.info, Subject: c.Subject, SANs: sans, Claims: p.claims,
		Validators: pl.validators[:], Modifiers: p.modifiers, Caps: pl.caps[:],
		Webhooks: p.webhooks.X509(webhook.Request{
			ProvisionerName: p.info.Name, AuthorizationPrincipal: crt.Name(),
			Subject: c.Subject, SANs: sans, Token: tok,
		}),
	}
	if p.x509 != nil {
		pl.Template = p.x509.ForRequest(c.Subject, sans, tok)
		pl.Template.Data.Set(AuthorizationCrtKey, templateCert(crt))
	}
	return &pl.X509Plan, nil
}

// within requires the subject and each SAN to be the certificate's name or
// the address of one of its networks (IPs compared as addresses).
func within(subject string, sans []string, name string, nets []netip.Prefix) error {
	ok := func(s string) bool {
		if s == name {
			return true
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return false
		}
		return slices.ContainsFunc(nets, func(n netip.Prefix) bool { return n.Addr() == a.Unmap() })
	}
	if !ok(subject) {
		return errs.Errorf(errs.Forbidden, "token subject %q is not the nebula certificate's name %q or one of its addresses", subject, name)
	}
	for _, s := range sans {
		if !ok(s) {
			return errs.Errorf(errs.Forbidden, "token sans %q is not the nebula certificate's name %q or one of its addresses", s, name)
		}
	}
	return nil
}

// Details is the Nebula certificate as templates see it, in the form of
// step-ca's (nebula v1's NebulaCertificateDetails), e.g.
// {{ .AuthorizationCrt.Details.Groups }}.
type Details struct {
	Name           string
	Ips            []netip.Prefix
	Subnets        []netip.Prefix
	Groups         []string
	NotBefore      time.Time
	NotAfter       time.Time
	PublicKey      []byte
	IsCA           bool
	Issuer         string
	Curve          string
	Version        int
	UnsafeNetworks []netip.Prefix
}

// TemplateCert is .AuthorizationCrt.
type TemplateCert struct {
	Details   Details
	Signature []byte
}

func templateCert(c cert.Certificate) *TemplateCert {
	return &TemplateCert{
		Details: Details{
			Name: c.Name(), Ips: c.Networks(), Subnets: c.UnsafeNetworks(), UnsafeNetworks: c.UnsafeNetworks(),
			Groups: c.Groups(), NotBefore: c.NotBefore(), NotAfter: c.NotAfter(), PublicKey: c.PublicKey(),
			IsCA: c.IsCA(), Issuer: c.Issuer(), Curve: c.Curve().String(), Version: int(c.Version()),
		},
		Signature: c.Signature(),
	}
}

// AuthorizeRevoke implements provisioner.Interface.
func (p *Provisioner) AuthorizeRevoke(_ context.Context, tok *token.Token) error {
	_, err := p.authorize(tok, provisioner.PurposeRevoke)
	return err
}

// AuthorizeRenew implements provisioner.Interface.
func (p *Provisioner) AuthorizeRenew(_ context.Context, cert *x509.Certificate) error {
	return provisioner.CheckRenewal(p.claims, p.info.Name, cert, p.now())
}
