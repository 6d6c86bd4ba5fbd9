// Package aws is the AWS provisioner: an EC2 instance proves who it is with
// its instance identity document and the document's signature by AWS, sent
// in a JWT the client signs with HS256 keyed by that signature (wire-spec
// §4.8, §4.10, §5.1). The signature is checked with AWS's public
// certificates (iidRoots).
package aws

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/provisioner"
	"github.com/mayfly-pki/mayfly/provisioner/internal/iid"
	"github.com/mayfly-pki/mayfly/provisioner/token"
	"github.com/mayfly-pki/mayfly/provisioner/validate"
)

// Issuer is the iss of the tokens step makes of an identity document.
const Issuer = "ec2.amazonaws.com"

// SignatureAlgorithm is how AWS signs identity documents (the "signature"
// endpoint: RSA PKCS #1 v1.5 with SHA-256).
const SignatureAlgorithm = x509.SHA256WithRSA

type config struct {
	provisioner.Base
	Accounts               []string             `json:"accounts"`
	DisableCustomSANs      bool                 `json:"disableCustomSANs"`
	DisableTrustOnFirstUse bool                 `json:"disableTrustOnFirstUse"`
	IMDSVersions           []string             `json:"imdsVersions"`
	InstanceAge            provisioner.Duration `json:"instanceAge"`
	IIDRoots               string               `json:"iidRoots"`
}

// Payload is the AWS part of a token: the document and its signature
// (standard base64 in JSON).
type Payload struct {
	Amazon struct {
		Document  []byte `json:"document"`
		Signature []byte `json:"signature"`
	} `json:"amazon"`
}

// Document is an instance identity document.
type Document struct {
	AccountID        string    `json:"accountId"`
	Architecture     string    `json:"architecture"`
	AvailabilityZone string    `json:"availabilityZone"`
	ImageID          string    `json:"imageId"`
	InstanceID       string    `json:"instanceId"`
	InstanceType     string    `json:"instanceType"`
	PendingTime      time.Time `json:"pendingTime"`
	PrivateIP        string    `json:"privateIp"`
	Region           string    `json:"region"`
	Version          string    `json:"version"`
}

// ParsePayload decodes the AWS claims of a token payload.
func ParsePayload(b []byte) (*Payload, error) {
	var p Payload
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// DNSName is the instance's private DNS name:
// ip-<a-b-c-d>.<region>.compute.internal.
func DNSName(doc *Document) string {
	return fmt.Sprintf("ip-%s.%s.compute.internal", strings.ReplaceAll(doc.PrivateIP, ".", "-"), doc.Region)
}

// Provisioner is a configured AWS provisioner.
type Provisioner struct {
	*iid.Common
	cfg       config
	audiences provisioner.Audiences
	id        string // "aws/<name>"
	certs     []*x509.Certificate
}

var (
	_ provisioner.Interface   = (*Provisioner)(nil)
	_ provisioner.TokenReuser = (*Provisioner)(nil)
)

// New builds an AWS provisioner from its ca.json entry.
func New(raw json.RawMessage, cfg provisioner.Config) (provisioner.Interface, error) {
	var c config
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("invalid AWS provisioner: %w", err)
	}
	switch {
	case c.Name == "":
		return nil, errors.New("provisioner name cannot be empty")
	case c.InstanceAge.Duration < 0:
		return nil, fmt.Errorf("AWS provisioner %q: provisioner instanceAge cannot be negative", c.Name)
	}
	for _, v := range c.IMDSVersions {
		if v != "v1" && v != "v2" {
			return nil, fmt.Errorf("AWS provisioner %q: %s: not a supported AWS Instance Metadata Service version", c.Name, v)
		}
	}
	var certs []*x509.Certificate
	if c.IIDRoots != "" {
		var err error
		if certs, err = readCertificates(c.IIDRoots); err != nil {
			return nil, fmt.Errorf("AWS provisioner %q: iidRoots: %w", c.Name, err)
		}
	}
	id := "aws/" + c.Name
	common, err := iid.New(provisioner.Info{ID: id, Name: c.Name, Type: provisioner.TypeAWS}, c.Base, raw, cfg)
	if err != nil {
		return nil, err
	}
	return &Provisioner{Common: common, cfg: c, audiences: cfg.Audiences, id: id, certs: certs}, nil
}

// readCertificates reads a PEM bundle of at least one certificate.
func readCertificates(path string) ([]*x509.Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []*x509.Certificate
	for rest := b; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no PEM certificates found", path)
	}
	return out, nil
}

// TokenID implements provisioner.Interface: "aws/<name>".
func (p *Provisioner) TokenID() string { return p.id }

// UsedKey implements provisioner.TokenReuser (wire-spec §4.10): with trust
// on first use, one certificate per instance, keyed as step-ca by
// sha256("aws/<name>.<instance id>"); without it, the signed token itself
// (its jti names the instance, not the token).
func (p *Provisioner) UsedKey(tok *token.Token) (string, bool) {
	if p.cfg.DisableTrustOnFirstUse {
		return tok.SignedReuseKey(), true
	}
	pl, err := ParsePayload(tok.Payload())
	if err != nil {
		return tok.SignedReuseKey(), true
	}
	var doc Document
	if json.Unmarshal(pl.Amazon.Document, &doc) != nil {
		return tok.SignedReuseKey(), true
	}
	sum := sha256.Sum256([]byte(p.id + "." + doc.InstanceID))
	return "iid:" + hex.EncodeToString(sum[:]), true
}

// checkSignature checks AWS's signature of the document.
func (p *Provisioner) checkSignature(doc, sig []byte) error {
	if len(p.certs) == 0 {
		return errors.New("no AWS certificates to check it with: set iidRoots (this build has no built-in AWS certificates)")
	}
	for _, c := range p.certs {
		if c.CheckSignature(SignatureAlgorithm, doc, sig) == nil {
			return nil
		}
	}
	return errors.New("error validating identity document signature")
}

// authorize runs step-ca's checks of an AWS token (aws.authorizeToken).
func (p *Provisioner) authorize(tok *token.Token) (*Document, error) {
	pl, err := ParsePayload(tok.Payload())
	if err != nil {
		return nil, errs.E(errs.Unauthorized, "aws.authorizeToken; error unmarshaling claims", err)
	}
	if len(pl.Amazon.Signature) == 0 {
		return nil, errs.Errorf(errs.Unauthorized, "aws.authorizeToken; error verifying claims: the token has no signature")
	}
	if err := tok.Verify(pl.Amazon.Signature); err != nil {
		return nil, errs.E(errs.Unauthorized, "aws.authorizeToken; error verifying claims", err)
	}
	if err := p.checkSignature(pl.Amazon.Document, pl.Amazon.Signature); err != nil {
		return nil, errs.E(errs.Unauthorized, "aws.authorizeToken; invalid aws token signature", err)
	}
	var doc Document
	if err := json.Unmarshal(pl.Amazon.Document, &doc); err != nil {
		return nil, errs.E(errs.Unauthorized, "aws.authorizeToken; error unmarshaling aws identity document", err)
	}
	switch {
	case doc.AccountID == "":
		return nil, errs.Errorf(errs.Unauthorized, "aws.authorizeToken; aws identity document accountId cannot be empty")
	case doc.InstanceID == "":
		return nil, errs.Errorf(errs.Unauthorized, "aws.authorizeToken; aws identity document instanceId cannot be empty")
	case doc.PrivateIP == "":
		return nil, errs.Errorf(errs.Unauthorized, "aws.authorizeToken; aws identity document privateIp cannot be empty")
	case doc.Region == "":
		return nil, errs.Errorf(errs.Unauthorized, "aws.authorizeToken; aws identity document region cannot be empty")
	}
	c := &tok.Claims
	now := p.Now()
	if c.Issuer != Issuer {
		return nil, errs.Errorf(errs.Unauthorized, "aws.authorizeToken; invalid aws token: invalid issuer %q", c.Issuer)
	}
	if err := c.ValidateTime(now); err != nil {
		return nil, errs.E(errs.Unauthorized, "aws.authorizeToken; invalid aws token", err)
	}
	if !p.audiences.Match(provisioner.PurposeSign, c.Audience, p.id) {
		return nil, errs.Errorf(errs.Unauthorized, "aws.authorizeToken; invalid token - invalid audience claim (aud)")
	}
	if p.cfg.DisableCustomSANs && c.Subject != doc.InstanceID && c.Subject != doc.PrivateIP && c.Subject != DNSName(&doc) {
		return nil, errs.Errorf(errs.Unauthorized, "aws.authorizeToken; invalid token - invalid subject claim (sub)")
	}
	if len(p.cfg.Accounts) > 0 && !slices.Contains(p.cfg.Accounts, doc.AccountID) {
		return nil, errs.Errorf(errs.Unauthorized, "aws.authorizeToken; invalid aws identity document - accountId is not valid")
	}
	if d := p.cfg.InstanceAge.Duration; d > 0 && now.Sub(doc.PendingTime) > d {
		return nil, errs.Errorf(errs.Unauthorized, "aws.authorizeToken; aws identity document pendingTime is too old")
	}
	return &doc, nil
}

// AuthorizeSign implements provisioner.Interface, as step-ca's AWS
// AuthorizeSign: the CSR's common name is the token's subject; its names are
// trusted on first use, or with disableCustomSANs exactly the instance's
// private DNS name and IP. The provisioner extension names the account and
// carries InstanceID.
func (p *Provisioner) AuthorizeSign(_ context.Context, tok *token.Token) (*provisioner.X509Plan, error) {
	doc, err := p.authorize(tok)
	if err != nil {
		return nil, err
	}
	sub := tok.Claims.Subject
	var sans []string
	validators := []provisioner.CSRValidator{validate.CommonName(sub)}
	if p.cfg.DisableCustomSANs {
		sans = []string{DNSName(doc), doc.PrivateIP}
		validators = append(validators, validate.SANs(sans))
	}
	return p.Plan(tok, sub, sans, validators, doc.AccountID, "InstanceID", doc.InstanceID)
}

// AuthorizeRevoke implements provisioner.Interface: step-ca's AWS
// provisioner does not revoke with a token.
func (p *Provisioner) AuthorizeRevoke(context.Context, *token.Token) error {
	return errs.Errorf(errs.Unauthorized, "aws.AuthorizeRevoke; revoke is not supported by the AWS provisioner %q", p.Info().Name)
}
