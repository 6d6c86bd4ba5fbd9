// Package azure is the Azure provisioner: a virtual machine proves who it
// is with the access token its managed identity gets from the instance
// metadata service (wire-spec §4.8: routed by tenant ID, §4.10, §5.1). The
// token is verified with the tenant's keys, found by OpenID Connect
// discovery, which Run keeps fresh in the background.
package azure

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/provisioner"
	"github.com/mayfly-pki/mayfly/provisioner/internal/iid"
	"github.com/mayfly-pki/mayfly/provisioner/internal/keyset"
	"github.com/mayfly-pki/mayfly/provisioner/token"
	"github.com/mayfly-pki/mayfly/provisioner/validate"
)

// Azure's endpoints and defaults, as step-ca uses them.
const (
	// OIDCBaseURL is where a tenant's discovery document lives:
	// <base>/<tenantID>/.well-known/openid-configuration.
	OIDCBaseURL = "https://login.microsoftonline.com"
	// OIDCBaseURLEnv overrides OIDCBaseURL in step-ca (tests serve
	// discovery and keys on loopback).
	OIDCBaseURLEnv = "MAYFLY_AZURE_OIDC_BASE_URL"
	// DefaultAudience is the token audience when the provisioner sets none.
	DefaultAudience = "https://management.azure.com/"
)

// mirID parses xms_mirid (or xms_az_rid): subscription, resource group and
// the virtual machine's (or user-assigned identity's) name.
var mirID = regexp.MustCompile(`(?i)^/subscriptions/([^/]+)/resourceGroups/([^/]+)/providers/Microsoft\.(Compute/virtualMachines|ManagedIdentity/userAssignedIdentities)/([^/]+)$`)

// Endpoints are where the provisioner discovers the tenant's keys.
type Endpoints struct {
	OIDCBaseURL string
}

// EndpointsFromEnv returns the default endpoints, OIDCBaseURL overridden
// by $MAYFLY_AZURE_OIDC_BASE_URL when set.
func EndpointsFromEnv() Endpoints {
	e := Endpoints{OIDCBaseURL: OIDCBaseURL}
	if u := os.Getenv(OIDCBaseURLEnv); u != "" {
		e.OIDCBaseURL = u
	}
	return e
}

type config struct {
	provisioner.Base
	TenantID               string   `json:"tenantID"`
	ResourceGroups         []string `json:"resourceGroups"`
	SubscriptionIDs        []string `json:"subscriptionIDs"`
	ObjectIDs              []string `json:"objectIDs"`
	Audience               string   `json:"audience"`
	DisableCustomSANs      bool     `json:"disableCustomSANs"`
	DisableTrustOnFirstUse bool     `json:"disableTrustOnFirstUse"`
}

// Payload is the Azure part of a managed identity access token.
type Payload struct {
	AppID           string `json:"appid"`
	ObjectID        string `json:"oid"`
	TenantID        string `json:"tid"`
	Version         string `json:"ver"`
	XMSMirID        string `json:"xms_mirid"`
	XMSAzResourceID string `json:"xms_az_rid"`
}

// ParsePayload decodes the Azure claims of a token payload.
func ParsePayload(b []byte) (*Payload, error) {
	var p Payload
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// resourceID is xms_mirid, or xms_az_rid without it.
func (p *Payload) resourceID() string {
	if p.XMSMirID != "" {
		return p.XMSMirID
	}
	return p.XMSAzResourceID
}

// discovery is the part of the OpenID configuration the provisioner uses.
type discovery struct {
	Issuer  string `json:"issuer"`
	JWKSURI string `json:"jwks_uri"`
}

// Provisioner is a configured Azure provisioner.
type Provisioner struct {
	*iid.Common
	cfg      config
	keys     *keyset.Set
	discover string // the tenant's discovery URL

	mu     sync.RWMutex
	issuer string // from discovery
}

var (
	_ provisioner.Interface   = (*Provisioner)(nil)
	_ provisioner.Runner      = (*Provisioner)(nil)
	_ provisioner.Router      = (*Provisioner)(nil)
	_ provisioner.TokenReuser = (*Provisioner)(nil)
)

// New builds an Azure provisioner from its ca.json entry, with
// EndpointsFromEnv.
func New(raw json.RawMessage, cfg provisioner.Config) (provisioner.Interface, error) {
	return NewWith(EndpointsFromEnv())(raw, cfg)
}

// NewWith returns a constructor discovering keys under e.
func NewWith(e Endpoints) provisioner.Constructor {
	return func(raw json.RawMessage, cfg provisioner.Config) (provisioner.Interface, error) {
		var c config
		if err := json.Unmarshal(raw, &c); err != nil {
			return nil, fmt.Errorf("invalid Azure provisioner: %w", err)
		}
		switch {
		case c.Name == "":
			return nil, errors.New("provisioner name cannot be empty")
		case c.TenantID == "":
			return nil, fmt.Errorf("Azure provisioner %q: provisioner tenantId cannot be empty", c.Name)
		case strings.ContainsAny(c.TenantID, "/?#"):
			return nil, fmt.Errorf("Azure provisioner %q: invalid tenantID %q", c.Name, c.TenantID)
		}
		if c.Audience == "" {
			c.Audience = DefaultAudience
		}
		info := provisioner.Info{ID: c.TenantID, Name: c.Name, Type: provisioner.TypeAzure, CredentialID: c.TenantID}
		common, err := iid.New(info, c.Base, raw, cfg)
		if err != nil {
			return nil, err
		}
		p := &Provisioner{
			Common: common, cfg: c,
			discover: strings.TrimRight(e.OIDCBaseURL, "/") + "/" + c.TenantID + "/.well-known/openid-configuration",
		}
		p.keys = keyset.New(fmt.Sprintf("Azure provisioner %q", c.Name), p.source, cfg.HTTPClient, cfg.Clock(), cfg.Logger)
		return p, nil
	}
}

// source discovers the tenant's issuer and key set URL (in Run only).
func (p *Provisioner) source(ctx context.Context, client *http.Client) (string, error) {
	b, _, err := keyset.Get(ctx, client, p.discover)
	if err != nil {
		return "", err
	}
	d, err := parseDiscovery(b, p.cfg.TenantID)
	if err != nil {
		return "", fmt.Errorf("error reading %s: %w", p.discover, err)
	}
	p.mu.Lock()
	p.issuer = d.Issuer
	p.mu.Unlock()
	return d.JWKSURI, nil
}

// parseDiscovery reads an OpenID configuration: issuer and jwks_uri are
// required; "{tenantid}" in the issuer is the tenant.
func parseDiscovery(b []byte, tenant string) (*discovery, error) {
	var d discovery
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("invalid OpenID configuration: %w", err)
	}
	if d.Issuer == "" || d.JWKSURI == "" {
		return nil, errors.New("invalid OpenID configuration: issuer and jwks_uri are required")
	}
	d.Issuer = strings.ReplaceAll(d.Issuer, "{tenantid}", tenant)
	return &d, nil
}

// TokenID implements provisioner.Interface: the tenant ID.
func (p *Provisioner) TokenID() string { return p.cfg.TenantID }

// RouteKeys implements provisioner.Router: Azure tokens are addressed to
// Azure, not the CA, and reach their provisioner by tid (wire-spec §4.8).
func (p *Provisioner) RouteKeys() []provisioner.RouteKey {
	return []provisioner.RouteKey{{Kind: provisioner.RouteTenant, Value: p.cfg.TenantID}}
}

// Run implements provisioner.Runner: it keeps the tenant's keys fresh.
func (p *Provisioner) Run(ctx context.Context) error { return p.keys.Run(ctx) }

// Ready is closed once the tenant's keys have been fetched.
func (p *Provisioner) Ready() <-chan struct{} { return p.keys.Ready() }

// UsedKey implements provisioner.TokenReuser (wire-spec §4.10): with trust
// on first use, one certificate per virtual machine, keyed as step-ca by
// sha256(xms_mirid); without it, tokens may be used again (Azure caches an
// access token for hours, as step-ca allows).
func (p *Provisioner) UsedKey(tok *token.Token) (string, bool) {
	if p.cfg.DisableTrustOnFirstUse {
		return "", false
	}
	pl, err := ParsePayload(tok.Payload())
	if err != nil {
		return tok.SignedReuseKey(), true
	}
	sum := sha256.Sum256([]byte(pl.resourceID()))
	return "iid:" + hex.EncodeToString(sum[:]), true
}

// identity is what a verified token says of the machine.
type identity struct {
	name, group, subscription, objectID string
}

// authorize runs step-ca's checks of an Azure token (azure.authorizeToken).
func (p *Provisioner) authorize(tok *token.Token) (*identity, error) {
	keys, err := p.keys.Get(tok.Header.KeyID)
	if err != nil {
		return nil, errs.E(errs.Unauthorized, "azure.authorizeToken; cannot validate azure token", err)
	}
	found := false
	for i := range keys {
		if tok.Verify(keys[i].Key) == nil {
			found = true
			break
		}
	}
	if !found {
		return nil, errs.Errorf(errs.Unauthorized, "azure.authorizeToken; cannot validate azure token")
	}
	pl, err := ParsePayload(tok.Payload())
	if err != nil {
		return nil, errs.E(errs.Unauthorized, "azure.authorizeToken; error parsing azure token", err)
	}
	c := &tok.Claims
	p.mu.RLock()
	issuer := p.issuer
	p.mu.RUnlock()
	if c.Issuer != issuer {
		return nil, errs.Errorf(errs.Unauthorized, "azure.authorizeToken; failed to validate azure token payload: invalid issuer %q", c.Issuer)
	}
	if err := c.ValidateTime(p.Now()); err != nil {
		return nil, errs.E(errs.Unauthorized, "azure.authorizeToken; failed to validate azure token payload", err)
	}
	if !slices.Contains(c.Audience, p.cfg.Audience) {
		return nil, errs.Errorf(errs.Unauthorized, "azure.authorizeToken; failed to validate azure token payload: invalid audience")
	}
	if pl.TenantID != p.cfg.TenantID {
		return nil, errs.Errorf(errs.Unauthorized, "azure.authorizeToken; azure token validation failed - invalid tenant id claim (tid)")
	}
	rid := pl.resourceID()
	if rid == "" {
		return nil, errs.Errorf(errs.Unauthorized, "azure.authorizeToken; azure token validation failed - missing xms_mirid or xms_az_rid claims")
	}
	m := mirID.FindStringSubmatch(rid)
	if len(m) != 5 {
		return nil, errs.Errorf(errs.Unauthorized, "azure.authorizeToken; error parsing xms_mirid claim - %s", rid)
	}
	return &identity{subscription: m[1], group: m[2], name: m[4], objectID: pl.ObjectID}, nil
}

// AuthorizeSign implements provisioner.Interface, as step-ca's Azure
// AuthorizeSign: resource groups, subscriptions and object IDs filter the
// machine; the certificate has the CSR's names (trusted on first use), or
// with disableCustomSANs exactly the virtual machine's name as common name
// and DNS name.
func (p *Provisioner) AuthorizeSign(_ context.Context, tok *token.Token) (*provisioner.X509Plan, error) {
	id, err := p.authorizeMachine(tok, "azure.AuthorizeSign")
	if err != nil {
		return nil, err
	}
	var sans []string
	var validators []provisioner.CSRValidator
	if p.cfg.DisableCustomSANs {
		sans = []string{id.name}
		validators = []provisioner.CSRValidator{validate.CommonName(id.name), validate.SANs(sans)}
	}
	return p.Plan(tok, id.name, sans, validators, p.cfg.TenantID)
}

// authorizeMachine is authorize with the filters of resource groups,
// subscriptions and object IDs; op names the caller in messages.
func (p *Provisioner) authorizeMachine(tok *token.Token, op string) (*identity, error) {
	id, err := p.authorize(tok)
	if err != nil {
		return nil, err
	}
	switch {
	case len(p.cfg.ResourceGroups) > 0 && !slices.Contains(p.cfg.ResourceGroups, id.group):
		return nil, errs.Errorf(errs.Unauthorized, "%s; azure token validation failed - invalid resource group", op)
	case len(p.cfg.SubscriptionIDs) > 0 && !slices.Contains(p.cfg.SubscriptionIDs, id.subscription):
		return nil, errs.Errorf(errs.Unauthorized, "%s; azure token validation failed - invalid subscription id", op)
	case len(p.cfg.ObjectIDs) > 0 && !slices.Contains(p.cfg.ObjectIDs, id.objectID):
		return nil, errs.Errorf(errs.Unauthorized, "%s; azure token validation failed - invalid object id", op)
	}
	return id, nil
}

// AuthorizeRevoke implements provisioner.Interface: step-ca's Azure
// provisioner does not revoke with a token.
func (p *Provisioner) AuthorizeRevoke(context.Context, *token.Token) error {
	return errs.Errorf(errs.Unauthorized, "azure.AuthorizeRevoke; revoke is not supported by the Azure provisioner %q", p.Info().Name)
}
