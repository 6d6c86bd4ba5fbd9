// Package scep is the SCEP provisioner (RFC 8894): a device enrolls with a
// challenge password inside its PKCS#7 request; the provisioner checks the
// password and returns the plan its certificate is issued with. The SCEP
// messages themselves are handled by api/scep.
package scep

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/subtle"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/internal/pemutil"
	"github.com/mayfly-pki/mayfly/provisioner"
	"github.com/mayfly-pki/mayfly/provisioner/internal/base"
	"github.com/mayfly-pki/mayfly/provisioner/token"
	"github.com/mayfly-pki/mayfly/provisioner/validate"
	"github.com/mayfly-pki/mayfly/provisioner/webhook"
)

// DefaultCapabilities are step-ca's GetCACaps answer when the provisioner
// lists none.
var DefaultCapabilities = []string{"Renewal", "SHA-1", "SHA-256", "AES", "DES3", "SCEPStandard", "POSTPKIOperation"}

// Content encryption algorithms of encryptionAlgorithmIdentifier (step-ca's
// numbering, that of go.mozilla.org/pkcs7).
const (
	EncryptionDESCBC    = 0
	EncryptionAES128CBC = 1
	EncryptionAES256CBC = 2
	EncryptionAES128GCM = 3
	EncryptionAES256GCM = 4
)

// ErrChallengeInvalid is the reason a request with a wrong challenge fails.
var errChallengeInvalid = errors.New("failed validating challenge password")

type config struct {
	provisioner.Base
	ForceCN                       bool     `json:"forceCN,omitempty"`
	Challenge                     string   `json:"challenge,omitempty"`
	Capabilities                  []string `json:"capabilities,omitempty"`
	IncludeRoot                   bool     `json:"includeRoot,omitempty"`
	ExcludeIntermediate           bool     `json:"excludeIntermediate,omitempty"`
	MinimumPublicKeyLength        int      `json:"minimumPublicKeyLength,omitempty"`
	DecrypterCertificate          []byte   `json:"decrypterCertificate,omitempty"`
	DecrypterKeyPEM               []byte   `json:"decrypterKeyPEM,omitempty"`
	DecrypterKeyURI               string   `json:"decrypterKey,omitempty"`
	DecrypterKeyPassword          string   `json:"decrypterKeyPassword,omitempty"`
	EncryptionAlgorithmIdentifier int      `json:"encryptionAlgorithmIdentifier,omitempty"`
}

// Provisioner is a configured SCEP provisioner.
type Provisioner struct {
	info         provisioner.Info
	claims       provisioner.Resolved
	raw          json.RawMessage
	now          func() time.Time
	challenge    []byte
	forceCN      bool
	caps         []string
	includeRoot  bool
	excludeInter bool
	minKeyLen    int
	encAlg       int
	decCert      *x509.Certificate // nil: the intermediate's, when RSA
	decKey       *rsa.PrivateKey
	x509         *provisioner.X509Template
	webhooks     *webhook.Set
	modifiers    []provisioner.CertModifier
}

var _ provisioner.Interface = (*Provisioner)(nil)

// New builds a SCEP provisioner from its ca.json entry.
func New(raw json.RawMessage, cfg provisioner.Config) (provisioner.Interface, error) {
	var c config
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("invalid SCEP provisioner: %w", err)
	}
	if c.Name == "" {
		return nil, errors.New("provisioner name cannot be empty")
	}
	if c.EncryptionAlgorithmIdentifier < 0 || c.EncryptionAlgorithmIdentifier > 4 {
		return nil, fmt.Errorf("SCEP provisioner %q: only encryption algorithm identifiers from 0 to 4 are valid", c.Name)
	}
	if c.MinimumPublicKeyLength < 0 || c.MinimumPublicKeyLength%8 != 0 {
		return nil, fmt.Errorf("SCEP provisioner %q: %d bits is not exactly divisible by 8", c.Name, c.MinimumPublicKeyLength)
	}
	info := provisioner.Info{ID: "scep/" + c.Name, Name: c.Name, Type: provisioner.TypeSCEP}
	parts, err := base.Parse(info, c.Base, raw, cfg)
	if err != nil {
		return nil, err
	}
	claims := parts.Claims
	caps := c.Capabilities
	if len(caps) == 0 {
		caps = DefaultCapabilities
	}
	p := &Provisioner{
		info:   info,
		claims: claims, raw: parts.Raw, now: cfg.Clock(), challenge: []byte(c.Challenge),
		forceCN: c.ForceCN, caps: caps, includeRoot: c.IncludeRoot, excludeInter: c.ExcludeIntermediate,
		minKeyLen: c.MinimumPublicKeyLength, encAlg: c.EncryptionAlgorithmIdentifier,
		x509: parts.X509, webhooks: parts.Webhooks,
	}
	if err := p.loadDecrypter(&c); err != nil {
		return nil, fmt.Errorf("SCEP provisioner %q: %w", c.Name, err)
	}
	if !claims.DisableSmallstepExtensions {
		ext, err := validate.NewExtension(p.info)
		if err != nil {
			return nil, fmt.Errorf("SCEP provisioner %q: %w", c.Name, err)
		}
		p.modifiers = []provisioner.CertModifier{ext}
	}
	return p, nil
}

// loadDecrypter reads decrypterCertificate and decrypterKeyPEM (base64 of
// PEM in ca.json): an RSA pair whose key decrypts the requests' envelopes.
func (p *Provisioner) loadDecrypter(c *config) error {
	if c.DecrypterKeyURI != "" {
		return errors.New("decrypterKey: key URIs (KMS) are not supported yet; use decrypterKeyPEM")
	}
	switch {
	case len(c.DecrypterCertificate) == 0 && len(c.DecrypterKeyPEM) == 0:
		return nil
	case len(c.DecrypterCertificate) == 0:
		return errors.New("decrypterCertificate is required with decrypterKeyPEM")
	case len(c.DecrypterKeyPEM) == 0:
		return errors.New("decrypterKeyPEM is required with decrypterCertificate")
	}
	certs, err := pemutil.ParseCertificates(c.DecrypterCertificate)
	if err != nil || len(certs) == 0 {
		return fmt.Errorf("failed parsing decrypter certificate: %v", err)
	}
	key, err := pemutil.ParsePrivateKey(c.DecrypterKeyPEM, []byte(c.DecrypterKeyPassword))
	if err != nil {
		return fmt.Errorf("failed parsing decrypter key: %w", err)
	}
	rk, ok := key.(*rsa.PrivateKey)
	if !ok {
		return errors.New("only RSA keys are (currently) supported as decrypters")
	}
	if !rk.PublicKey.Equal(certs[0].PublicKey) {
		return errors.New("mismatch between decrypter certificate and decrypter key")
	}
	p.decCert, p.decKey = certs[0], rk
	return nil
}

// Info implements provisioner.Interface.
func (p *Provisioner) Info() provisioner.Info { return p.info }

// TokenID implements provisioner.Interface: "scep/<name>" (wire-spec §4.8).
func (p *Provisioner) TokenID() string { return p.info.ID }

// Claims implements provisioner.Interface.
func (p *Provisioner) Claims() provisioner.Resolved { return p.claims }

// EncryptedKey implements provisioner.Interface: SCEP has none.
func (p *Provisioner) EncryptedKey() (string, string, bool) { return "", "", false }

// JSON implements provisioner.Interface: the ca.json entry with its secrets
// replaced by "*** REDACTED ***", as step-ca serves it (wire-spec §3).
func (p *Provisioner) JSON() json.RawMessage {
	var m map[string]any
	if json.Unmarshal(p.raw, &m) != nil {
		return p.raw
	}
	const redacted = "*** REDACTED ***"
	for _, k := range []string{"challenge", "decrypterKey", "decrypterKeyPassword"} {
		if _, ok := m[k]; ok {
			m[k] = redacted
		}
	}
	for _, k := range []string{"decrypterCertificate", "decrypterKeyPEM"} {
		if _, ok := m[k]; ok {
			m[k] = []byte(redacted) // base64, as a JSON []byte
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		return p.raw
	}
	return b
}

// AuthorizeSign implements provisioner.Interface: SCEP has no token flow.
func (p *Provisioner) AuthorizeSign(context.Context, *token.Token) (*provisioner.X509Plan, error) {
	return nil, errs.Exact(errs.BadRequest, "token flow is not supported", nil)
}

// AuthorizeRevoke implements provisioner.Interface: SCEP has no token flow.
func (p *Provisioner) AuthorizeRevoke(context.Context, *token.Token) error {
	return errs.Exact(errs.BadRequest, "token flow is not supported", nil)
}

// AuthorizeRenew implements provisioner.Interface.
func (p *Provisioner) AuthorizeRenew(_ context.Context, cert *x509.Certificate) error {
	return provisioner.CheckRenewal(p.claims, p.info.Name, cert, p.now())
}

// Capabilities returns the GetCACaps answer.
func (p *Provisioner) Capabilities() []string { return p.caps }

// IncludeRoot says whether GetCACert includes the root.
func (p *Provisioner) IncludeRoot() bool { return p.includeRoot }

// ExcludeIntermediate says whether GetCACert leaves out the intermediate.
func (p *Provisioner) ExcludeIntermediate() bool { return p.excludeInter }

// EncryptionAlgorithm is the content encryption of CertRep envelopes
// (EncryptionDESCBC ... EncryptionAES256GCM).
func (p *Provisioner) EncryptionAlgorithm() int { return p.encAlg }

// Decrypter returns the RSA pair that decrypts requests and signs replies:
// the configured decrypter, else the intermediate's when its key is RSA.
// It fails with step-ca's words when there is none.
func (p *Provisioner) Decrypter(intermediate *x509.Certificate, signer crypto.Signer) (*x509.Certificate, *rsa.PrivateKey, error) {
	if p.decCert != nil {
		return p.decCert, p.decKey, nil
	}
	if k, ok := signer.(*rsa.PrivateKey); ok && intermediate != nil {
		return intermediate, k, nil
	}
	return nil, nil, fmt.Errorf("SCEP provisioner %q does not have a decrypter certificate", p.info.Name)
}

// HasDecrypter says whether the provisioner has its own decrypter.
func (p *Provisioner) HasDecrypter() bool { return p.decCert != nil }

// ChallengeError reports whether err is a wrong challenge password: the
// reply is a CertRep FAILURE (badRequest), not an HTTP error.
func ChallengeError(err error) bool { return errors.Is(err, errChallengeInvalid) }

// AuthorizeSCEP checks the challenge password of an enrollment (PKCSReq or
// RenewalReq: step-ca asks the challenge of both) in constant time, or with
// the SCEPCHALLENGE webhooks when there are any, and
// returns the plan for csr: the certificate is named after the CSR (its
// common name and SANs; the common name alone when it has none), with the
// provisioner extension, the claims and the template.
func (p *Provisioner) AuthorizeSCEP(ctx context.Context, csr *x509.CertificateRequest, challenge, transactionID string) (*provisioner.X509Plan, error) {
	subject := csr.Subject.CommonName
	sans := csrSANs(csr)
	if subject == "" && p.forceCN && len(sans) > 0 {
		subject = sans[0]
	}
	if len(sans) == 0 && subject != "" {
		sans = []string{subject}
	}
	if p.webhooks.HasSCEPChallenge() {
		// SCEPCHALLENGE webhooks replace the static challenge, as step-ca.
		ok, err := p.webhooks.ValidateSCEPChallenge(ctx, webhook.Request{ProvisionerName: p.info.Name, Subject: subject, SANs: sans},
			csr, challenge, transactionID)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, errs.E(errs.Forbidden, "failed validating challenge password", errChallengeInvalid)
		}
	} else if subtle.ConstantTimeCompare(p.challenge, []byte(challenge)) != 1 {
		return nil, errs.E(errs.Forbidden, "failed validating challenge password", errChallengeInvalid)
	}
	var validators []provisioner.CSRValidator
	if p.minKeyLen > 0 {
		validators = append(validators, minKeyLength(p.minKeyLen))
	}
	plan := &provisioner.X509Plan{
		Info: p.info, Subject: subject, SANs: sans, Claims: p.claims,
		Validators: validators, Modifiers: p.modifiers,
		Webhooks: p.webhooks.X509(webhook.Request{
			ProvisionerName: p.info.Name, Subject: subject, SANs: sans,
		}),
	}
	if p.x509 != nil {
		plan.Template = p.x509.ForRequest(subject, sans, nil)
	}
	return plan, nil
}

// csrSANs lists a CSR's names as step-ca's SCEP authority does: DNS names,
// emails, IPs, URIs.
func csrSANs(csr *x509.CertificateRequest) []string {
	var sans []string
	sans = append(sans, csr.DNSNames...)
	sans = append(sans, csr.EmailAddresses...)
	for _, ip := range csr.IPAddresses {
		sans = append(sans, ip.String())
	}
	for _, u := range csr.URIs {
		sans = append(sans, u.String())
	}
	return sans
}

// minKeyLength is step-ca's public key minimum length validator.
type minKeyLength int

// ValidateCSR implements provisioner.CSRValidator.
func (n minKeyLength) ValidateCSR(csr *x509.CertificateRequest) error {
	var bits int
	switch k := csr.PublicKey.(type) {
	case *rsa.PublicKey:
		bits = k.N.BitLen()
	case *ecdsa.PublicKey:
		bits = k.Curve.Params().BitSize
	default:
		return nil
	}
	if bits < int(n) {
		return errs.Errorf(errs.Forbidden, "key length %d must be at least %d bits", bits, int(n))
	}
	return nil
}
