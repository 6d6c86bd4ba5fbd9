// Package gcp is the GCP provisioner: a Compute Engine instance proves who
// it is with the identity token Google's metadata server issues for the CA's
// audience (wire-spec §4.8, §4.10, §5.1). The token is verified with
// Google's keys, which Run keeps fresh in the background.
package gcp

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"

	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/provisioner"
	"github.com/mayfly-pki/mayfly/provisioner/internal/iid"
	"github.com/mayfly-pki/mayfly/provisioner/internal/keyset"
	"github.com/mayfly-pki/mayfly/provisioner/token"
	"github.com/mayfly-pki/mayfly/provisioner/validate"
)

// Google's endpoints, as step-ca uses them.
const (
	// CertsURL is Google's JWKS for identity tokens.
	CertsURL = "https://www.googleapis.com/oauth2/v3/certs"
	// IdentityURL is the metadata server's identity token endpoint (the CLI).
	IdentityURL = "http://metadata/computeMetadata/v1/instance/service-accounts/default/identity"
	// Issuer is the iss of Google's identity tokens.
	Issuer = "https://accounts.google.com"
	// CertsURLEnv overrides CertsURL in step-ca (tests serve keys on loopback).
	CertsURLEnv = "MAYFLY_GCP_CERTS_URL"
)

// Endpoints are where the provisioner fetches Google's keys.
type Endpoints struct {
	CertsURL string
}

// EndpointsFromEnv returns the default endpoints, CertsURL overridden by
// $MAYFLY_GCP_CERTS_URL when set.
func EndpointsFromEnv() Endpoints {
	e := Endpoints{CertsURL: CertsURL}
	if u := os.Getenv(CertsURLEnv); u != "" {
		e.CertsURL = u
	}
	return e
}

type config struct {
	provisioner.Base
	ServiceAccounts        []string             `json:"serviceAccounts"`
	ProjectIDs             []string             `json:"projectIDs"`
	DisableCustomSANs      bool                 `json:"disableCustomSANs"`
	DisableTrustOnFirstUse bool                 `json:"disableTrustOnFirstUse"`
	InstanceAge            provisioner.Duration `json:"instanceAge"`
	OrganizationID         string               `json:"organizationID"`
	// DisableSSHCAUser and DisableSSHCAHost are step-ca's switches of the
	// SSH certificates of GCP identities. Mayfly's GCP provisioner issues
	// host certificates only, so DisableSSHCAUser changes nothing;
	// DisableSSHCAHost true refuses them.
	DisableSSHCAUser *bool `json:"disableSSHCAUser,omitempty"`
	DisableSSHCAHost *bool `json:"disableSSHCAHost,omitempty"`
}

// Payload is the payload of a Google identity token (format=full).
type Payload struct {
	AuthorizedParty string `json:"azp"`
	Email           string `json:"email"`
	EmailVerified   bool   `json:"email_verified"`
	Google          struct {
		ComputeEngine ComputeEngine `json:"compute_engine"`
	} `json:"google"`
}

// ComputeEngine is the instance a token describes.
type ComputeEngine struct {
	InstanceID                string             `json:"instance_id"`
	InstanceName              string             `json:"instance_name"`
	InstanceCreationTimestamp *token.NumericDate `json:"instance_creation_timestamp"`
	ProjectID                 string             `json:"project_id"`
	ProjectNumber             int64              `json:"project_number"`
	Zone                      string             `json:"zone"`
	LicenseID                 []string           `json:"license_id"`
}

// ParsePayload decodes the GCP claims of a token payload.
func ParsePayload(b []byte) (*Payload, error) {
	var p Payload
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// Provisioner is a configured GCP provisioner.
type Provisioner struct {
	*iid.Common
	cfg       config
	audiences provisioner.Audiences
	id        string // "gcp/<name>": the audience fragment and token ID
	keys      *keyset.Set
}

var (
	_ provisioner.Interface   = (*Provisioner)(nil)
	_ provisioner.Runner      = (*Provisioner)(nil)
	_ provisioner.TokenReuser = (*Provisioner)(nil)
)

// New builds a GCP provisioner from its ca.json entry, with
// EndpointsFromEnv.
func New(raw json.RawMessage, cfg provisioner.Config) (provisioner.Interface, error) {
	return NewWith(EndpointsFromEnv())(raw, cfg)
}

// NewWith returns a constructor fetching keys from e.
func NewWith(e Endpoints) provisioner.Constructor {
	return func(raw json.RawMessage, cfg provisioner.Config) (provisioner.Interface, error) {
		var c config
		if err := json.Unmarshal(raw, &c); err != nil {
			return nil, fmt.Errorf("invalid GCP provisioner: %w", err)
		}
		if c.Name == "" {
			return nil, errors.New("provisioner name cannot be empty")
		}
		if c.InstanceAge.Duration < 0 {
			return nil, fmt.Errorf("GCP provisioner %q: provisioner instanceAge cannot be negative", c.Name)
		}
		id := "gcp/" + c.Name
		common, err := iid.New(provisioner.Info{ID: id, Name: c.Name, Type: provisioner.TypeGCP}, c.Base, raw, cfg)
		if err != nil {
			return nil, err
		}
		name := fmt.Sprintf("GCP provisioner %q", c.Name)
		return &Provisioner{
			Common: common, cfg: c, audiences: cfg.Audiences, id: id,
			keys: keyset.New(name, keyset.URL(e.CertsURL), cfg.HTTPClient, cfg.Clock(), cfg.Logger),
		}, nil
	}
}

// TokenID implements provisioner.Interface: "gcp/<name>", the fragment of
// the audience its tokens carry.
func (p *Provisioner) TokenID() string { return p.id }

// Run implements provisioner.Runner: it keeps Google's keys fresh.
func (p *Provisioner) Run(ctx context.Context) error { return p.keys.Run(ctx) }

// Ready is closed once Google's keys have been fetched.
func (p *Provisioner) Ready() <-chan struct{} { return p.keys.Ready() }

// UsedKey implements provisioner.TokenReuser (wire-spec §4.10): with trust
// on first use, one certificate per instance, keyed as step-ca by
// sha256("gcp/<name>.<instance id>"); without it, the token itself.
func (p *Provisioner) UsedKey(tok *token.Token) (string, bool) {
	if p.cfg.DisableTrustOnFirstUse {
		return tok.SignedReuseKey(), true
	}
	pl, err := ParsePayload(tok.Payload())
	if err != nil {
		return tok.SignedReuseKey(), true
	}
	sum := sha256.Sum256([]byte(p.id + "." + pl.Google.ComputeEngine.InstanceID))
	return "iid:" + hex.EncodeToString(sum[:]), true
}

// authorize runs step-ca's checks of a GCP token (gcp.authorizeToken).
func (p *Provisioner) authorize(tok *token.Token) (*Payload, error) {
	keys, err := p.keys.Get(tok.Header.KeyID)
	if err != nil {
		return nil, errs.E(errs.Unauthorized, "gcp.authorizeToken; failed to validate gcp token payload", err)
	}
	found := false
	for i := range keys {
		if tok.Verify(keys[i].Key) == nil {
			found = true
			break
		}
	}
	if !found {
		return nil, errs.Errorf(errs.Unauthorized, "gcp.authorizeToken; failed to validate gcp token payload - cannot find key for kid %s", tok.Header.KeyID)
	}
	pl, err := ParsePayload(tok.Payload())
	if err != nil {
		return nil, errs.E(errs.Unauthorized, "gcp.authorizeToken; error parsing gcp token", err)
	}
	c := &tok.Claims
	now := p.Now()
	if c.Issuer != Issuer {
		return nil, errs.Errorf(errs.Unauthorized, "gcp.authorizeToken; invalid gcp token payload: invalid issuer %q", c.Issuer)
	}
	if err := c.ValidateTime(now); err != nil {
		return nil, errs.E(errs.Unauthorized, "gcp.authorizeToken; invalid gcp token payload", err)
	}
	if !p.audiences.Match(provisioner.PurposeSign, c.Audience, p.id) {
		return nil, errs.Errorf(errs.Unauthorized, "gcp.authorizeToken; invalid gcp token - invalid audience claim (aud)")
	}
	if len(p.cfg.ServiceAccounts) > 0 && !slices.Contains(p.cfg.ServiceAccounts, c.Subject) && !slices.Contains(p.cfg.ServiceAccounts, pl.Email) {
		return nil, errs.Errorf(errs.Unauthorized, "gcp.authorizeToken; invalid gcp token - invalid subject claim")
	}
	ce := &pl.Google.ComputeEngine
	if len(p.cfg.ProjectIDs) > 0 && !slices.Contains(p.cfg.ProjectIDs, ce.ProjectID) {
		return nil, errs.Errorf(errs.Unauthorized, "gcp.authorizeToken; invalid gcp token - invalid project id")
	}
	if d := p.cfg.InstanceAge.Duration; d > 0 {
		if ce.InstanceCreationTimestamp == nil || now.Sub(ce.InstanceCreationTimestamp.Time()) > d {
			return nil, errs.Errorf(errs.Unauthorized, "gcp.authorizeToken; token google.compute_engine.instance_creation_timestamp is too old")
		}
	}
	switch {
	case ce.InstanceID == "":
		return nil, errs.Errorf(errs.Unauthorized, "gcp.authorizeToken; gcp token google.compute_engine.instance_id cannot be empty")
	case ce.InstanceName == "":
		return nil, errs.Errorf(errs.Unauthorized, "gcp.authorizeToken; gcp token google.compute_engine.instance_name cannot be empty")
	case ce.ProjectID == "":
		return nil, errs.Errorf(errs.Unauthorized, "gcp.authorizeToken; gcp token google.compute_engine.project_id cannot be empty")
	case ce.Zone == "":
		return nil, errs.Errorf(errs.Unauthorized, "gcp.authorizeToken; gcp token google.compute_engine.zone cannot be empty")
	}
	return pl, nil
}

// DNSNames are the instance's internal DNS names step-ca allows with
// disableCustomSANs: <instance>.c.<project>.internal and
// <instance>.<zone>.c.<project>.internal.
func DNSNames(ce *ComputeEngine) []string {
	return []string{
		fmt.Sprintf("%s.c.%s.internal", ce.InstanceName, ce.ProjectID),
		fmt.Sprintf("%s.%s.c.%s.internal", ce.InstanceName, ce.Zone, ce.ProjectID),
	}
}

// commonNames requires the CSR's common name to be one of names
// (step-ca's commonNameSliceValidator).
type commonNames []string

func (v commonNames) ValidateCSR(csr *x509.CertificateRequest) error {
	if !slices.Contains(v, csr.Subject.CommonName) {
		return errs.Errorf(errs.Forbidden, "certificate request does not contain the valid common name - got %s, want %s", csr.Subject.CommonName, []string(v))
	}
	return nil
}

// AuthorizeSign implements provisioner.Interface, as step-ca's GCP
// AuthorizeSign: the certificate has the CSR's common name and names
// (trusted on first use: one certificate per instance), or with
// disableCustomSANs a common name among the instance's name, ID and DNS
// names and exactly its two internal DNS names. The provisioner extension
// names the service account and carries InstanceID and InstanceName.
func (p *Provisioner) AuthorizeSign(_ context.Context, tok *token.Token) (*provisioner.X509Plan, error) {
	pl, err := p.authorize(tok)
	if err != nil {
		return nil, err
	}
	ce := &pl.Google.ComputeEngine
	var sans []string
	var validators []provisioner.CSRValidator
	if p.cfg.DisableCustomSANs {
		sans = DNSNames(ce)
		validators = []provisioner.CSRValidator{
			commonNames(append([]string{ce.InstanceName, ce.InstanceID}, sans...)),
			validate.SANs(sans),
		}
	}
	return p.Plan(tok, ce.InstanceName, sans, validators, tok.Claims.Subject, "InstanceID", ce.InstanceID, "InstanceName", ce.InstanceName)
}

// AuthorizeRevoke implements provisioner.Interface: step-ca's GCP
// provisioner does not revoke with a token.
func (p *Provisioner) AuthorizeRevoke(context.Context, *token.Token) error {
	return errs.Errorf(errs.Unauthorized, "gcp.AuthorizeRevoke; revoke is not supported by the GCP provisioner %q", p.Info().Name)
}
