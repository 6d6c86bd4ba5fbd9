package authority_test

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/mayfly-pki/mayfly/authority"
	at "github.com/mayfly-pki/mayfly/authority/authoritytest"
	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/provisioner"
	"github.com/mayfly-pki/mayfly/provisioner/token"
	"github.com/mayfly-pki/mayfly/provisioner/validate"
)

// seamType is a provisioner type the authority has never heard of: its
// tokens are signed by a JWK in its entry and addressed to #seam/<name>;
// its plan carries a validator, a modifier and a cap that record their
// order of application.
type seamType struct {
	name   string
	key    *jose.JSONWebKey
	capAt  func() time.Time
	calls  *[]string
	claims provisioner.Resolved
}

type seamValidator struct{ calls *[]string }

func (v seamValidator) ValidateCSR(csr *x509.CertificateRequest) error {
	*v.calls = append(*v.calls, "validator")
	if csr.Subject.CommonName == "refused.example.com" {
		return errs.Errorf(errs.Forbidden, "seam validator refuses %s", csr.Subject.CommonName)
	}
	return nil
}

type seamModifier struct{ calls *[]string }

func (m seamModifier) ModifyCert(c *x509.Certificate) error {
	*m.calls = append(*m.calls, "modifier")
	c.Subject.Organization = []string{"Seam"}
	return nil
}

type seamCap struct {
	calls *[]string
	at    time.Time
}

func (c seamCap) CapCert(cert *x509.Certificate, req provisioner.Requested) error {
	*c.calls = append(*c.calls, "cap")
	return (&validate.CredentialWindow{NotAfter: c.at}).CapCert(cert, req)
}

func (s *seamType) Info() provisioner.Info {
	return provisioner.Info{ID: "seam/" + s.name, Name: s.name, Type: provisioner.TypeSCEP}
}
func (s *seamType) TokenID() string                      { return "seam/" + s.name }
func (s *seamType) Claims() provisioner.Resolved         { return s.claims }
func (s *seamType) EncryptedKey() (string, string, bool) { return "", "", false }
func (s *seamType) JSON() json.RawMessage                { return json.RawMessage(`{}`) }
func (s *seamType) AuthorizeRevoke(context.Context, *token.Token) error {
	return errs.Errorf(errs.Unauthorized, "no")
}
func (s *seamType) AuthorizeRenew(context.Context, *x509.Certificate) error {
	return errs.Errorf(errs.Unauthorized, "no")
}
func (s *seamType) AuthorizeSign(_ context.Context, tok *token.Token) (*provisioner.X509Plan, error) {
	if err := tok.Verify(s.key); err != nil {
		return nil, errs.E(errs.Unauthorized, "seam: bad token", err)
	}
	*s.calls = append(*s.calls, "authorize")
	return &provisioner.X509Plan{
		Info: s.Info(), Subject: tok.Claims.Subject, SANs: tok.Claims.SANs, Claims: s.claims,
		Validators: []provisioner.CSRValidator{seamValidator{s.calls}},
		Modifiers:  []provisioner.CertModifier{seamModifier{s.calls}},
		Caps:       []provisioner.CertCap{seamCap{s.calls, s.capAt()}},
	}, nil
}

// TestSeamAppliesAnyType checks that a provisioner type registered with one
// registry line issues through the authority, which applies its plan in the
// fixed order: validators, modifiers, caps, then the validity check (a cap
// that leaves less than the minimum is refused).
func TestSeamAppliesAnyType(t *testing.T) {
	t.Parallel()
	var calls []string
	var capAt time.Time
	key := at.NewJWK(t, "seam")
	reg := provisioner.Registry{provisioner.TypeSCEP: func(raw json.RawMessage, cfg provisioner.Config) (provisioner.Interface, error) {
		pub := key.Public()
		return &seamType{name: "seam", key: &pub, calls: &calls, capAt: func() time.Time { return capAt }, claims: cfg.Claims}, nil
	}}
	env := at.New(t, at.Options{Registry: reg, MoreProvisioners: []json.RawMessage{json.RawMessage(`{"type":"SCEP","name":"seam"}`)}})
	ctx := context.Background()
	now := env.Clock.Now()
	sign := func(cn string) (*authority.Issued, error) {
		c := key.Claims(t, at.CAURL+"/1.0/sign#seam/seam", cn, now)
		c.SANs = []string{cn}
		csr := at.NewCSR(t, at.CSR{CommonName: cn, DNSNames: []string{cn}})
		return env.Authority.Sign(ctx, &authority.SignRequest{CSR: csr, OTT: key.Sign(t, c)})
	}

	capAt = now.Add(2 * time.Hour).Truncate(time.Second)
	iss, err := sign("seam.example.com")
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	cert, err := x509.ParseCertificate(iss.DER)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(calls, ","); got != "authorize,validator,modifier,cap" {
		t.Fatalf("plan applied in order %s", got)
	}
	if !cert.NotAfter.Equal(capAt) || strings.Join(cert.Subject.Organization, ",") != "Seam" || iss.Provisioner.Name != "seam" {
		t.Fatalf("certificate: notAfter %s (cap %s), subject %v, provisioner %q", cert.NotAfter, capAt, cert.Subject, iss.Provisioner.Name)
	}

	calls = nil
	if _, err := sign("refused.example.com"); !errs.Is(err, errs.Forbidden) || !strings.Contains(err.Error(), "seam validator refuses") {
		t.Fatalf("refusing validator: %v", err)
	}
	if got := strings.Join(calls, ","); got != "authorize,validator" {
		t.Fatalf("after a refusal: %s", got)
	}

	// The cap comes before the final validity check.
	calls = nil
	capAt = now.Add(time.Minute)
	_, err = sign("short.example.com")
	if want := fmt.Sprintf("less than the authorized minimum certificate duration of %s", provisioner.DefaultClaims.MinTLSDur); !errs.Is(err, errs.Forbidden) || !strings.Contains(err.Error(), want) {
		t.Fatalf("capped under the minimum: %v", err)
	}
	if got := strings.Join(calls, ","); got != "authorize,validator,modifier,cap" {
		t.Fatalf("capped: %s", got)
	}
}
