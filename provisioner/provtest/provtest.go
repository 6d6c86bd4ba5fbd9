// Package provtest is the conformance suite every provisioner type runs
// (PROVISIONERS.md): a valid token issues; expired, not-yet-valid, wrong
// audience, wrong issuer, replayed, tampered and foreign-key tokens are
// refused as Unauthorized; names outside the token are refused as Forbidden;
// the claims' durations are honoured.
//
// The suite drives a real authority through Harness.Sign, which the type's
// test wires (provisioner packages cannot import the authority), so what is
// checked is what a client gets.
package provtest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/provisioner"
	"github.com/mayfly-pki/mayfly/provisioner/token"
)

// Harness describes the provisioner under test.
type Harness struct {
	// Name is the provisioner's name (the tokens' issuer unless Issuer is set).
	Name string
	// Issuer is the tokens' issuer when it is not Name (K8sSA:
	// "kubernetes/serviceaccount").
	Issuer string
	// AnyAudience says the type does not check the audience (K8sSA, as
	// step-ca): tokens with another audience are then expected to issue.
	AnyAudience bool
	// RequestNames says the certificate's names are the request's, not
	// limited to the token's (K8sSA, as step-ca; the cloud identity types
	// unless disableCustomSANs): names outside the token are then expected
	// to issue.
	RequestNames bool
	// Audience is the sign audience its tokens carry, e.g.
	// "https://ca.example.com/1.0/sign" (JWK) or with "#x5c/<name>".
	Audience string
	// Now is the authority's clock.
	Now func() time.Time
	// Claims are the provisioner's resolved claims.
	Claims provisioner.Resolved
	// Backdate is the authority's backdate.
	Backdate time.Duration
	// Mint signs c with a credential the provisioner trusts.
	Mint func(t testing.TB, c *token.Claims) string
	// MintForeign signs c with a credential it does not trust, presented as
	// well as possible as a trusted one (the same kid, a chain to another
	// root, ...).
	MintForeign func(t testing.TB, c *token.Claims) string
	// Sign asks the authority for a certificate; notAfter 0 means the
	// default. It returns the authority's error as is.
	Sign func(ctx context.Context, csr *x509.CertificateRequest, ott string, notAfter time.Duration) (*x509.Certificate, error)
	// Issued, when set, checks the certificate a valid token for sub
	// issued instead of the suite's common name and DNS names check (OIDC
	// certifies the token's identity: sub, email).
	Issued func(t testing.TB, cert *x509.Certificate, sub string)
	// NamesFromCredential says the provisioner certifies the credential's
	// names whatever the request asks (step-ca's OIDC for non-admins): a
	// request with names outside the token then issues a certificate
	// without them instead of being refused.
	NamesFromCredential bool
}

// Claims returns the claims a client writes in a sign token for sub and
// sans at h.Now(): the harness's issuer and audience, a new jti, valid for
// five minutes.
func (h *Harness) claims(t testing.TB, sub string, sans ...string) *token.Claims {
	t.Helper()
	id, err := token.NewID()
	if err != nil {
		t.Fatal(err)
	}
	now := h.Now()
	return &token.Claims{
		Audience: token.Audience{h.Audience}, Issuer: h.issuer(), Subject: sub, SANs: sans, ID: id,
		IssuedAt: token.NewNumericDate(now), NotBefore: token.NewNumericDate(now),
		Expiry: token.NewNumericDate(now.Add(token.DefaultValidity)),
	}
}

func (h *Harness) issuer() string {
	if h.Issuer != "" {
		return h.Issuer
	}
	return h.Name
}

// CSR returns a request for cn with dns names, signed by a new P-256 key.
func CSR(t testing.TB, cn string, dns ...string) *x509.CertificateRequest {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn}, DNSNames: dns}, key)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		t.Fatal(err)
	}
	return csr
}

// tamper changes the payload of a compact token and keeps its signature.
func tamper(t testing.TB, raw string) string {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 || len(parts[1]) < 8 {
		t.Fatalf("not a compact token: %q", raw)
	}
	p := []byte(parts[1])
	// Flip one base64 character in the middle of the payload.
	i := len(p) / 2
	if p[i] == 'A' {
		p[i] = 'B'
	} else {
		p[i] = 'A'
	}
	return parts[0] + "." + string(p) + "." + parts[2]
}

// Run runs the suite.
func Run(t *testing.T, h Harness) {
	ctx := context.Background()
	const sub = "conformance.example.com"
	sign := func(t *testing.T, c *token.Claims, mint func(testing.TB, *token.Claims) string, notAfter time.Duration) (*x509.Certificate, error) {
		t.Helper()
		return h.Sign(ctx, CSR(t, sub, c.SANs...), mint(t, c), notAfter)
	}
	refused := func(t *testing.T, err error, kind errs.Kind) {
		t.Helper()
		if err == nil {
			t.Fatalf("accepted, want %v", kind)
		}
		if !errs.Is(err, kind) {
			t.Fatalf("refused with %v (%v), want %v", errs.KindOf(err), err, kind)
		}
	}

	t.Run("valid token issues", func(t *testing.T) {
		cert, err := sign(t, h.claims(t, sub, sub), h.Mint, 0)
		if err != nil {
			t.Fatalf("Sign: %v", err)
		}
		if h.Issued != nil {
			h.Issued(t, cert, sub)
		} else if cert.Subject.CommonName != sub || len(cert.DNSNames) != 1 || cert.DNSNames[0] != sub {
			t.Fatalf("issued subject %v, DNS names %v", cert.Subject, cert.DNSNames)
		}
		ext, ok := provisioner.FindExtension(cert)
		if h.Claims.DisableSmallstepExtensions == ok || (ok && ext.Name != h.Name) {
			t.Fatalf("provisioner extension %+v, %v", ext, ok)
		}
	})
	t.Run("claims honoured", func(t *testing.T) {
		cert, err := sign(t, h.claims(t, sub, sub), h.Mint, 0)
		if err != nil {
			t.Fatalf("Sign: %v", err)
		}
		if d := cert.NotAfter.Sub(cert.NotBefore); d > h.Claims.DefaultTLSDur+h.Backdate {
			t.Fatalf("default validity %s, more than the default %s", d, h.Claims.DefaultTLSDur)
		}
		_, err = sign(t, h.claims(t, sub, sub), h.Mint, h.Claims.MaxTLSDur+h.Backdate+time.Hour)
		refused(t, err, errs.Forbidden)
		_, err = sign(t, h.claims(t, sub, sub), h.Mint, h.Claims.MinTLSDur/2)
		refused(t, err, errs.Forbidden)
	})
	bad := []struct {
		name   string
		mod    func(*token.Claims)
		issues bool // accepted by this type
	}{
		{"expired", func(c *token.Claims) {
			c.IssuedAt, c.NotBefore = token.NewNumericDate(h.Now().Add(-10*time.Minute)), token.NewNumericDate(h.Now().Add(-10*time.Minute))
			c.Expiry = token.NewNumericDate(h.Now().Add(-2 * time.Minute))
		}, false},
		{"not yet valid", func(c *token.Claims) { c.NotBefore = token.NewNumericDate(h.Now().Add(3 * time.Minute)) }, false},
		{"wrong audience", func(c *token.Claims) {
			_, frag := token.SplitAudience(h.Audience)
			aud := "https://other.example.com/1.0/sign"
			if frag != "" {
				aud += "#" + frag
			}
			c.Audience = token.Audience{aud}
		}, h.AnyAudience},
		{"renew audience", func(c *token.Claims) {
			c.Audience = token.Audience{strings.Replace(h.Audience, "/1.0/sign", "/1.0/renew", 1)}
		}, h.AnyAudience},
		{"wrong issuer", func(c *token.Claims) { c.Issuer = "not-" + h.issuer() }, false},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			c := h.claims(t, sub, sub)
			tc.mod(c)
			_, err := sign(t, c, h.Mint, 0)
			if tc.issues {
				if err != nil {
					t.Fatalf("refused (%v), want issued: the type does not check this", err)
				}
				return
			}
			refused(t, err, errs.Unauthorized)
		})
	}
	t.Run("replayed", func(t *testing.T) {
		ott := h.Mint(t, h.claims(t, sub, sub))
		if _, err := h.Sign(ctx, CSR(t, sub, sub), ott, 0); err != nil {
			t.Fatalf("first use: %v", err)
		}
		_, err := h.Sign(ctx, CSR(t, sub, sub), ott, 0)
		refused(t, err, errs.Unauthorized)
	})
	t.Run("tampered", func(t *testing.T) {
		_, err := h.Sign(ctx, CSR(t, sub, sub), tamper(t, h.Mint(t, h.claims(t, sub, sub))), 0)
		refused(t, err, errs.Unauthorized)
	})
	t.Run("foreign key", func(t *testing.T) {
		_, err := sign(t, h.claims(t, sub, sub), h.MintForeign, 0)
		refused(t, err, errs.Unauthorized)
	})
	t.Run("names outside the token", func(t *testing.T) {
		if h.NamesFromCredential {
			for _, csr := range []*x509.CertificateRequest{CSR(t, sub, sub, "other.example.com"), CSR(t, "other.example.com")} {
				cert, err := h.Sign(ctx, csr, h.Mint(t, h.claims(t, sub, sub)), 0)
				if err != nil {
					t.Fatalf("Sign: %v", err)
				}
				if cert.Subject.CommonName == "other.example.com" || slices.Contains(cert.DNSNames, "other.example.com") {
					t.Fatalf("issued a name outside the token: subject %v, DNS names %v", cert.Subject, cert.DNSNames)
				}
			}
			return
		}
		cert, err := h.Sign(ctx, CSR(t, sub, sub, "other.example.com"), h.Mint(t, h.claims(t, sub, sub)), 0)
		if h.RequestNames {
			if err != nil || len(cert.DNSNames) != 2 || cert.DNSNames[1] != "other.example.com" {
				t.Fatalf("request names: %v, %v; want the request's names issued", cert, err)
			}
			return
		}
		refused(t, err, errs.Forbidden)
		_, err = h.Sign(ctx, CSR(t, "other.example.com"), h.Mint(t, h.claims(t, sub, sub)), 0)
		refused(t, err, errs.Forbidden)
	})
}
