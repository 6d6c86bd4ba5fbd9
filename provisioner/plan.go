package provisioner

import (
	"context"
	"crypto/x509"

	"github.com/mayfly-pki/mayfly/provisioner/token"
)

// X509Plan is what a provisioner allows for one X.509 certificate: the
// identity it vouches for and the options the authority applies, always in
// this order (see PROVISIONERS.md):
//
//  1. Validators judge the CSR;
//  2. Webhooks enrich the template data (Webhook.Enrich);
//  3. the certificate is built: from Template when set, else the default
//     leaf (Subject, SANs) directly, without text/template;
//  4. Modifiers change it (extensions, forced names, ...);
//  5. Caps make the last adjustments (an x5c leaf's NotAfter, ...);
//  6. the authority checks validity (Claims, the issuer's window) after the
//     last change to it, and the names;
//  7. Webhooks authorize the result (Webhook.Authorize);
//  8. the certificate is signed and persisted.
//
// A plan is built for one request. Its slices and options may be shared by
// a provisioner across requests: the authority never modifies them, and
// options keep no state.
type X509Plan struct {
	Info    Info
	Subject string
	SANs    []string
	// Claims are the provisioner's resolved claims: the validity bounds.
	Claims     Resolved
	Validators []CSRValidator
	Modifiers  []CertModifier
	Caps       []CertCap
	// Template is the provisioner's template with this request's data; nil
	// means the default leaf, which the authority builds directly.
	Template *CertificateTemplate
	Webhooks []Webhook
}

// CSRValidator judges a certificate request before anything is built. It
// returns an *errs.Error (Forbidden for names or keys the credential does
// not allow, BadRequest for a malformed request).
type CSRValidator interface {
	ValidateCSR(csr *x509.CertificateRequest) error
}

// CertModifier changes the certificate being built (template or default
// leaf). The validity set before it runs is the claims'; a modifier that
// changes it is checked like any other change.
type CertModifier interface {
	ModifyCert(cert *x509.Certificate) error
}

// CertCap is a last adjustment of the certificate, after the modifiers, such
// as step-ca's enforcers: an x5c leaf's NotAfter. req says which bounds of
// the validity the client asked for (a cap may cut a default, and refuse
// what was asked). The authority checks the validity once more after every
// cap. Errors are *errs.Error values.
type CertCap interface {
	CapCert(cert *x509.Certificate, req Requested) error
}

// Requested says which bounds of a certificate's validity the client set.
type Requested struct {
	NotBefore, NotAfter bool
}

// Webhook is a provisioner's webhook as the authority calls it: Enrich
// before the template is rendered (it may add template data), Authorize
// before the certificate is signed. Errors are *errs.Error values.
type Webhook interface {
	Enrich(ctx context.Context, csr *x509.CertificateRequest, data map[string]any) error
	Authorize(ctx context.Context, cert *x509.Certificate) error
}

// Runner is implemented by provisioners with background work (JWKS and
// discovery refresh, cloud keys): the CA runtime calls Run once per
// configuration snapshot and cancels ctx when the snapshot is replaced or the
// CA stops. Run returns when ctx is done; requests never wait for it.
type Runner interface {
	Run(ctx context.Context) error
}

// RouteKind names a way a token reaches its provisioner (wire-spec §4.8).
type RouteKind int

// Route kinds, in the order the collection tries them.
const (
	// RouteTokenID is the token ID: a CA audience's #fragment, or
	// "<iss>:<kid>" for an audience without one. Every provisioner has its
	// TokenID() under this kind; Router adds others.
	RouteTokenID RouteKind = iota
	// RouteIssuer is a fixed iss claim (K8sSA: "kubernetes/serviceaccount").
	RouteIssuer
	// RouteAZP is an OIDC client ID in the azp claim.
	RouteAZP
	// RouteTenant is an Azure tenant ID in the tid claim.
	RouteTenant
	// RouteAudience is the first audience of a token whose audience is not
	// the CA's (Azure with an email, cloud identity documents).
	RouteAudience
	numRouteKinds
)

// RouteKey is one key of the routing table.
type RouteKey struct {
	Kind  RouteKind
	Value string
}

// Router is implemented by provisioners reached by keys other than their
// token ID. The collection reads the keys once per configuration snapshot.
type Router interface {
	RouteKeys() []RouteKey
}

// ReuseKeyer is implemented by provisioners whose tokens are single use by
// something else than the token itself (wire-spec §4.10): the cloud
// identity types record one key per instance (trust on first use), so an
// instance gets one certificate. The authority records ReuseKey's key in
// used_ott instead of tok.ReuseKey(), after the provisioner accepted tok.
type ReuseKeyer interface {
	// ReuseKey returns the used_ott key of tok, which the provisioner has
	// verified; ok false means the token may be used again (Azure without
	// trust on first use). Keys must be bounded: a prefix and a hash.
	ReuseKey(tok *token.Token) (key string, ok bool)
}
