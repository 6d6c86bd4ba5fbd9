// Package provisioner defines the provisioner seam: how a request's credential
// (a one-time token, a certificate) is authorized, and what it allows.
package provisioner

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/sirupsen/logrus"
	gossh "golang.org/x/crypto/ssh"

	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/provisioner/token"
	"github.com/mayfly-pki/mayfly/templates"
)

// Type is a provisioner type; the numbers are those of step's certificate
// extension (wire-spec §5.1).
type Type int

// Provisioner types.
const (
	TypeJWK    Type = 1
	TypeOIDC   Type = 2
	TypeGCP    Type = 3
	TypeAWS    Type = 4
	TypeAzure  Type = 5
	TypeACME   Type = 6
	TypeX5C    Type = 7
	TypeK8sSA  Type = 8
	TypeSSHPOP Type = 9
	TypeSCEP   Type = 10
	TypeNebula Type = 11
)

var typeNames = map[Type]string{
	TypeJWK: "JWK", TypeOIDC: "OIDC", TypeGCP: "GCP", TypeAWS: "AWS", TypeAzure: "Azure",
	TypeACME: "ACME", TypeX5C: "X5C", TypeK8sSA: "K8sSA", TypeSSHPOP: "SSHPOP", TypeSCEP: "SCEP",
	TypeNebula: "Nebula",
}

func (t Type) String() string {
	if s, ok := typeNames[t]; ok {
		return s
	}
	return "Unknown"
}

// ParseType resolves a ca.json "type" value, case-insensitively.
func ParseType(s string) (Type, bool) {
	for t, name := range typeNames {
		if strings.EqualFold(s, name) {
			return t, true
		}
	}
	return 0, false
}

// Info identifies a provisioner in certificates and database records.
type Info struct {
	ID   string // stored in revocations; the token ID for ca.json provisioners
	Name string
	Type Type
	// CredentialID is the one credential a provisioner's certificates name
	// (JWK kid, OIDC client ID); when set, a certificate renews with this
	// provisioner only if its extension names the same. Empty for types
	// whose credential varies per certificate (AWS account, X5C).
	CredentialID string
}

// CertificateTemplate is a template and the data to render it with for one
// request: .Subject, .SANs, .Token and the provisioner's templateData. The
// authority adds .Insecure.CR and .Insecure.User; Data is the request's own.
type CertificateTemplate struct {
	Template *templates.X509Template
	Data     templates.X509Data
}

// Interface is a configured provisioner. Implementations are immutable after
// construction and safe for concurrent use. Authorize* methods return
// *errs.Error values (Unauthorized for credential problems).
type Interface interface {
	Info() Info
	// TokenID is the ID a token resolves to (wire-spec §4.8), e.g. "<name>:<kid>" for JWK.
	TokenID() string
	Claims() Resolved
	// EncryptedKey returns the kid and JWE served at /provisioners/{kid}/encrypted-key.
	EncryptedKey() (kid, jwe string, ok bool)
	// JSON is the provisioner's ca.json entry as served by /provisioners.
	JSON() json.RawMessage
	// AuthorizeSign verifies tok (signature, issuer, audience, times) for an
	// X.509 sign and returns what it allows. The authority applies the plan
	// (X509Plan's order) without knowing the provisioner's type.
	AuthorizeSign(ctx context.Context, tok *token.Token) (*X509Plan, error)
	// AuthorizeRevoke verifies a revoke token; the caller checks the serial.
	AuthorizeRevoke(ctx context.Context, tok *token.Token) error
	// AuthorizeRenew checks the provisioner allows renewing cert (disableRenewal,
	// allowRenewalAfterExpiry); revocation is the caller's job.
	AuthorizeRenew(ctx context.Context, cert *x509.Certificate) error
}

// AnySerialRevoker is implemented by provisioners whose revoke tokens do
// not name the serial in sub: an OIDC admin's ID token (sub is the user)
// revokes any certificate, as in step-ca. AuthorizeRevoke decides alone.
type AnySerialRevoker interface {
	RevokesAnySerial()
}

// AdminAuthorizer is implemented by provisioners whose tokens may call the
// admin API (only JWK). AuthorizeAdmin verifies tok (signature, issuer,
// audience PurposeAdmin, times) and returns an Unauthorized *errs.Error
// when it does not hold.
type AdminAuthorizer interface {
	AuthorizeAdmin(ctx context.Context, tok *token.Token) error
}

// TokenKeyer is implemented by provisioners whose tokens are signed by keys
// written in the configuration (JWK). The collection computes once, from
// these keys, the token headers whose signatures are checked without
// go-jose (token.Headers).
type TokenKeyer interface {
	// TokenKeys returns the public keys that sign the provisioner's tokens.
	TokenKeys() []*jose.JSONWebKey
}

// Config is what every provisioner is built with: its dependencies arrive
// here, never from package state or a request's context.
type Config struct {
	Audiences Audiences
	// Claims are the global claims (defaults merged with authority.claims).
	Claims Resolved
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// StepPath is the directory relative template files (options.x509.
	// templateFile) are resolved against; empty means the current $STEPPATH.
	StepPath string
	// HTTPClient is the client for a provisioner's network work (JWKS,
	// discovery, cloud keys), with timeouts; cmd/step-ca builds it. A
	// provisioner does that work in Run (Runner), never on a request.
	HTTPClient *http.Client
	// Roots are the CA's roots: webhook servers may present certificates
	// that chain to them, as well as to the system's (as step-ca).
	Roots []*x509.Certificate
	// Logger logs a provisioner's background work; nil discards.
	Logger logrus.FieldLogger
	// SSHUserKeys and SSHHostKeys are the CA's SSH keys (ca.json ssh
	// block): SSHPOP accepts certificates they signed.
	SSHUserKeys, SSHHostKeys []gossh.PublicKey
}

// Clock returns cfg.Now, or time.Now when it is nil.
func (cfg Config) Clock() func() time.Time {
	if cfg.Now == nil {
		return time.Now
	}
	return cfg.Now
}

// Constructor builds a provisioner from its ca.json entry.
type Constructor func(raw json.RawMessage, cfg Config) (Interface, error)

// Registry maps types to constructors; cmd/step-ca builds it explicitly.
type Registry map[Type]Constructor

// Base holds the fields every provisioner shares in ca.json.
type Base struct {
	Type    string          `json:"type"`
	Name    string          `json:"name"`
	Claims  *Claims         `json:"claims,omitempty"`
	Options json.RawMessage `json:"options,omitempty"`
	// Policy is the provisioner's name policy; nil: none.
	Policy *Policy `json:"policy,omitempty"`
	// Lint lints this provisioner's certificates before they are signed.
	Lint *LintOptions `json:"lint,omitempty"`
}

// CheckRenewal applies the renewal claims of provisioner name to cert at now.
func CheckRenewal(c Resolved, name string, cert *x509.Certificate, now time.Time) error {
	if c.DisableRenewal {
		return errs.Errorf(errs.Unauthorized, "renew is disabled for provisioner %q", name)
	}
	if now.Before(cert.NotBefore) {
		return errs.Errorf(errs.Unauthorized, "certificate is not yet valid")
	}
	if now.After(cert.NotAfter) && !c.AllowRenewalAfterExpiry {
		return errs.Errorf(errs.Unauthorized, "certificate expired on %s", cert.NotAfter.UTC().Format(time.RFC3339))
	}
	return nil
}
