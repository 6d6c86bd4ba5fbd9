package nebula_test

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slackhq/nebula/cert"

	"github.com/mayfly-pki/mayfly/authority"
	at "github.com/mayfly-pki/mayfly/authority/authoritytest"
	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/internal/timeutil"
	"github.com/mayfly-pki/mayfly/provisioner"
	"github.com/mayfly-pki/mayfly/provisioner/nebula"
	"github.com/mayfly-pki/mayfly/provisioner/nebula/nebulatest"
	"github.com/mayfly-pki/mayfly/provisioner/provtest"
	"github.com/mayfly-pki/mayfly/provisioner/token"
)

const (
	audience = at.CAURL + "/1.0/sign#nebula/neb"
	hostName = "conformance.example.com"
)

// nebEnv is an authority with a Nebula provisioner "neb" trusting ca, and a
// host certificate ca signed for hostName at 10.1.0.5/16.
type nebEnv struct {
	*at.Env
	ca   *nebulatest.CA
	host *nebulatest.Host
}

func newEnv(t *testing.T, curve cert.Curve, extra map[string]any) *nebEnv {
	t.Helper()
	now := at.Epoch // the authority's clock
	ca := nebulatest.NewCA(t, "test nebula ca", curve, now.Add(-24*time.Hour), now.Add(30*24*time.Hour))
	env := at.New(t, at.Options{
		Store:            at.OpenBadger(t),
		Registry:         provisioner.Registry{provisioner.TypeNebula: nebula.New},
		MoreProvisioners: []json.RawMessage{nebulatest.Entry(t, "neb", extra, ca)},
	})
	now = env.Clock.Now()
	host := ca.Issue(t, nebulatest.HostOptions{Name: hostName, Networks: []string{"10.1.0.5/16"}, Groups: []string{"servers", "web"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(3 * time.Hour)})
	return &nebEnv{Env: env, ca: ca, host: host}
}

func (e *nebEnv) claims(t testing.TB, sub string, sans ...string) *token.Claims {
	c := e.Admin.Claims(t, audience, sub, e.Clock.Now())
	c.Issuer, c.SANs = "neb", sans
	return c
}

func (e *nebEnv) sign(ctx context.Context, csr *x509.CertificateRequest, ott string, notAfter time.Duration) (*x509.Certificate, error) {
	req := &authority.SignRequest{CSR: csr, OTT: ott}
	if notAfter != 0 {
		req.NotAfter = timeutil.NewDuration(notAfter)
	}
	iss, err := e.Authority.Sign(ctx, req)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(iss.DER)
}

func conformance(t *testing.T, curve cert.Curve) {
	e := newEnv(t, curve, nil)
	now := e.Clock.Now()
	other := nebulatest.NewCA(t, "test nebula ca", curve, now.Add(-24*time.Hour), now.Add(30*24*time.Hour))
	foreign := other.Issue(t, nebulatest.HostOptions{Name: hostName, Networks: []string{"10.1.0.5/16"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(3 * time.Hour)})
	p, _ := e.Authority.Provisioners().ByName("neb")
	provtest.Run(t, provtest.Harness{
		Name: "neb", Audience: audience, Now: e.Clock.Now, Backdate: time.Minute, Claims: p.Claims(),
		Mint:        e.host.Token,
		MintForeign: foreign.Token,
		Sign:        e.sign,
	})
}

// TestConformance runs the provisioner conformance suite on Nebula with a
// Curve25519 CA (XEdDSA tokens); the foreign credential is a host
// certificate with the same name from another CA.
func TestConformance(t *testing.T) { conformance(t, cert.Curve_CURVE25519) }

// TestConformanceP256 runs it with a P-256 CA (ES256 tokens).
func TestConformanceP256(t *testing.T) { conformance(t, cert.Curve_P256) }

// TestNebulaRefusals checks the credential checks: another CA, an expired
// or not yet valid certificate, a token signed by another key, a CA
// certificate, and a token without (or with a broken) nebula header are
// refused as Unauthorized.
func TestNebulaRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t, cert.Curve_CURVE25519, nil)
	now := e.Clock.Now()
	other := nebulatest.NewCA(t, "test nebula ca", cert.Curve_CURVE25519, now.Add(-24*time.Hour), now.Add(30*24*time.Hour))
	opts := func(nb, na time.Duration) nebulatest.HostOptions {
		return nebulatest.HostOptions{Name: hostName, Networks: []string{"10.1.0.5/16"}, NotBefore: now.Add(nb), NotAfter: now.Add(na)}
	}
	otherHost := other.Issue(t, opts(-time.Hour, time.Hour))
	expired := e.ca.Issue(t, opts(-3*time.Hour, -time.Hour))
	future := e.ca.Issue(t, opts(time.Hour, 3*time.Hour))
	stranger := e.ca.Issue(t, opts(-time.Hour, time.Hour))
	p256 := nebulatest.NewCA(t, "p256", cert.Curve_P256, now.Add(-time.Hour), now.Add(time.Hour)).Issue(t, opts(-time.Hour, time.Hour))
	const verifyMsg = "nebula.authorizeToken; token is not valid: failed to verify certificate against configured CA"
	const sigMsg = "nebula.authorizeToken; token is not valid: signature does not match"
	caHost := &nebulatest.Host{Cert: e.ca.Cert, Curve: cert.Curve_CURVE25519, Key: e.host.Key}
	tests := []struct {
		name string
		ott  func() string
		want string
	}{
		{"another CA", func() string { return otherHost.Token(t, e.claims(t, hostName)) }, verifyMsg},
		{"expired certificate", func() string { return expired.Token(t, e.claims(t, hostName)) }, verifyMsg},
		{"certificate not yet valid", func() string { return future.Token(t, e.claims(t, hostName)) }, verifyMsg},
		{"P-256 certificate, Curve25519 CA", func() string { return p256.Token(t, e.claims(t, hostName)) }, verifyMsg},
		{"signed by another key", func() string { return e.host.TokenWith(t, e.claims(t, hostName), stranger.Key) }, sigMsg},
		{"CA certificate", func() string { return caHost.Token(t, e.claims(t, hostName)) }, "is a CA certificate"},
		{"no nebula header", func() string { return e.Admin.Sign(t, e.claims(t, hostName)) }, "nebula header is missing"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := e.sign(context.Background(), at.NewCSR(t, at.CSR{CommonName: hostName}), tc.ott(), 0)
			if !errs.Is(err, errs.Unauthorized) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Sign = %v, want Unauthorized %q", err, tc.want)
			}
		})
	}
	// An ES256 token from a Curve25519 certificate: the algorithm is not its.
	t.Run("algorithm not the certificate's", func(t *testing.T) {
		es, _ := nebula.Key(cert.Curve_P256, p256.Key)
		ott, err := nebula.Sign(e.host.Cert, es, e.claims(t, hostName))
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.sign(context.Background(), at.NewCSR(t, at.CSR{CommonName: hostName}), ott, 0)
		if !errs.Is(err, errs.Unauthorized) || !strings.Contains(err.Error(), sigMsg) {
			t.Fatalf("Sign = %v", err)
		}
	})
}

// TestNebulaNames checks the names: by default the Nebula certificate's
// name and addresses; a token or request naming anything else is refused.
func TestNebulaNames(t *testing.T) {
	t.Parallel()
	e := newEnv(t, cert.Curve_CURVE25519, nil)
	ctx := context.Background()
	// No sans in the token: the certificate's name and IP.
	cert1, err := e.sign(ctx, at.NewCSR(t, at.CSR{CommonName: hostName}), e.host.Token(t, e.claims(t, hostName)), 0)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(cert1.DNSNames, ",") != hostName || len(cert1.IPAddresses) != 1 || !cert1.IPAddresses[0].Equal(net.ParseIP("10.1.0.5")) {
		t.Fatalf("SANs %v %v", cert1.DNSNames, cert1.IPAddresses)
	}
	ext, ok := provisioner.FindExtension(cert1)
	if !ok || ext.Type != provisioner.TypeNebula || ext.Name != "neb" || ext.CredentialID != "" {
		t.Fatalf("provisioner extension %+v, %v", ext, ok)
	}
	// The IP alone, as subject and SAN.
	if _, err := e.sign(ctx, at.NewCSR(t, at.CSR{CommonName: "10.1.0.5"}), e.host.Token(t, e.claims(t, "10.1.0.5", "10.1.0.5")), 0); err != nil {
		t.Fatalf("IP subject: %v", err)
	}
	refusals := []struct {
		name string
		csr  at.CSR
		sub  string
		sans []string
	}{
		{"token sans outside the certificate", at.CSR{CommonName: hostName}, hostName, []string{hostName, "evil.example.com"}},
		{"token subject outside the certificate", at.CSR{CommonName: "evil.example.com"}, "evil.example.com", []string{hostName}},
		{"another IP of the network", at.CSR{CommonName: hostName}, hostName, []string{"10.1.0.6"}},
		{"CSR DNS name outside the token", at.CSR{CommonName: hostName, DNSNames: []string{hostName, "evil.example.com"}}, hostName, nil},
		{"CSR common name not the subject", at.CSR{CommonName: "10.1.0.5"}, hostName, nil},
	}
	for _, tc := range refusals {
		_, err := e.sign(ctx, at.NewCSR(t, tc.csr), e.host.Token(t, e.claims(t, tc.sub, tc.sans...)), 0)
		if !errs.Is(err, errs.Forbidden) {
			t.Errorf("%s: %v, want Forbidden", tc.name, err)
		}
	}
}

// TestNebulaIssues checks the validity (within the Nebula certificate's),
// renewal and revocation.
func TestNebulaIssues(t *testing.T) {
	t.Parallel()
	e := newEnv(t, cert.Curve_CURVE25519, map[string]any{"claims": map[string]any{"defaultTLSCertDuration": "24h"}})
	ctx := context.Background()
	csr := func() *x509.CertificateRequest { return at.NewCSR(t, at.CSR{CommonName: hostName}) }
	crt, err := e.sign(ctx, csr(), e.host.Token(t, e.claims(t, hostName)), 0)
	if err != nil {
		t.Fatal(err)
	}
	if !crt.NotAfter.Equal(e.host.Cert.NotAfter()) {
		t.Fatalf("notAfter %s, want the nebula certificate's %s", crt.NotAfter, e.host.Cert.NotAfter())
	}
	_, err = e.sign(ctx, csr(), e.host.Token(t, e.claims(t, hostName)), 4*time.Hour)
	if !errs.Is(err, errs.Forbidden) || !strings.Contains(err.Error(), "after the expiration of the provisioning credential") {
		t.Fatalf("notAfter past the nebula certificate: %v", err)
	}
	if r, err := e.Authority.Renew(ctx, crt); err != nil || r.Provisioner.Name != "neb" {
		t.Fatalf("renew: %v, %v", r, err)
	}
	serial := crt.SerialNumber.String()
	c := e.claims(t, serial)
	c.Audience = token.Audience{at.CAURL + "/1.0/revoke#nebula/neb"}
	if _, err := e.Authority.Revoke(ctx, &authority.RevokeRequest{Serial: serial, OTT: e.host.Token(t, c)}); err != nil {
		t.Fatalf("revoke: %v", err)
	}
}

// TestNebulaV2 checks a v2 (ASN.1) host certificate, with an IPv6
// network, signed by the (v1) CA: step-ca reads v1 only; Mayfly accepts
// both.
func TestNebulaV2(t *testing.T) {
	t.Parallel()
	e := newEnv(t, cert.Curve_CURVE25519, nil)
	now := e.Clock.Now()
	v2 := e.ca.Issue(t, nebulatest.HostOptions{Name: hostName, Networks: []string{"10.1.0.7/16", "fd00::7/64"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), Version: cert.Version2})
	crt, err := e.sign(context.Background(), at.NewCSR(t, at.CSR{CommonName: hostName}), v2.Token(t, e.claims(t, hostName)), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(crt.IPAddresses) != 2 || !crt.IPAddresses[1].Equal(net.ParseIP("fd00::7")) {
		t.Fatalf("IPs %v", crt.IPAddresses)
	}
}

// TestNebulaTemplate checks .AuthorizationCrt.Details in templates, as
// step-ca provides the Nebula certificate.
func TestNebulaTemplate(t *testing.T) {
	t.Parallel()
	tmpl := `{"subject": {"commonName": {{ toJson .Subject.CommonName }}, "organizationalUnit": {{ toJson .AuthorizationCrt.Details.Groups }},
"organization": [{{ toJson .AuthorizationCrt.Details.Name }}]}, "sans": {{ toJson .SANs }}, "extKeyUsage": ["clientAuth"]}`
	e := newEnv(t, cert.Curve_CURVE25519, map[string]any{"options": map[string]any{"x509": map[string]any{"template": tmpl}}})
	crt, err := e.sign(context.Background(), at.NewCSR(t, at.CSR{CommonName: hostName}), e.host.Token(t, e.claims(t, hostName)), 0)
	if err != nil {
		t.Fatal(err)
	}
	ou := slices.Sorted(slices.Values(crt.Subject.OrganizationalUnit))
	if got := strings.Join(ou, ","); got != "servers,web" {
		t.Fatalf("OU from .AuthorizationCrt.Details.Groups = %q", got)
	}
	if got := strings.Join(crt.Subject.Organization, ","); got != hostName {
		t.Fatalf("O from .AuthorizationCrt.Details.Name = %q", got)
	}
}

// A Nebula provisioner calls its webhooks; the authorizationPrincipal is
// the Nebula certificate's name.
func TestNebulaWebhooks(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var bodies []map[string]any
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b map[string]any
		_ = json.NewDecoder(r.Body).Decode(&b)
		mu.Lock()
		bodies = append(bodies, b)
		mu.Unlock()
		io.WriteString(w, `{"allow": false}`)
	}))
	t.Cleanup(s.Close)
	e := newEnv(t, cert.Curve_CURVE25519, map[string]any{"options": map[string]any{"webhooks": []any{
		map[string]any{"id": "1", "name": "gate", "kind": "AUTHORIZING", "url": s.URL, "certType": "X509"},
	}}})
	_, err := e.sign(context.Background(), at.NewCSR(t, at.CSR{CommonName: hostName}), e.host.Token(t, e.claims(t, hostName)), 0)
	if !errs.Is(err, errs.Forbidden) || err.Error() != "webhook server did not allow request: webhook \"gate\" denied the request" {
		t.Fatalf("Sign = %v, want the webhook's denial", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(bodies) != 1 || bodies[0]["authorizationPrincipal"] != hostName || bodies[0]["provisionerName"] != "neb" {
		t.Fatalf("bodies = %v", bodies)
	}
}

// TestNewErrors checks the ca.json problems a Nebula entry can have.
func TestNewErrors(t *testing.T) {
	t.Parallel()
	cfg := provisioner.Config{Audiences: provisioner.NewAudiences([]string{at.DNSName}), Claims: provisioner.DefaultClaims}
	now := time.Now()
	ca := nebulatest.NewCA(t, "ca", cert.Curve_CURVE25519, now.Add(-time.Hour), now.Add(time.Hour))
	host := ca.Issue(t, nebulatest.HostOptions{Name: "h", Networks: []string{"10.0.0.1/8"}, NotBefore: now.Add(-time.Minute), NotAfter: now.Add(time.Minute)})
	b64 := func(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
	tests := []struct {
		name, entry, want string
	}{
		{"no roots", `{"type":"Nebula","name":"x"}`, "provisioner root(s) cannot be empty"},
		{"roots not base64", `{"type":"Nebula","name":"x","roots":"%%%"}`, "invalid Nebula provisioner"},
		{"roots not PEM", `{"type":"Nebula","name":"x","roots":"aGVsbG8="}`, "failed to create ca pool"},
		{"root not a CA", `{"type":"Nebula","name":"x","roots":"` + b64(host.CertPEM(t)) + `"}`, "failed to create ca pool"},
		{"no name", `{"type":"Nebula","roots":"` + b64(ca.PEM(t)) + `"}`, "provisioner name cannot be empty"},
	}
	for _, tc := range tests {
		if _, err := nebula.New(json.RawMessage(tc.entry), cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
	if _, err := nebula.New(json.RawMessage(`{"type":"Nebula","name":"x","roots":"`+b64(ca.PEM(t))+`"}`), cfg); err != nil {
		t.Fatal(err)
	}
}

// TestNebulaRootOutsideValidity checks a root expired at the CA's clock:
// the provisioner loads (step-ca failed to), and its hosts' tokens are
// refused as Unauthorized.
func TestNebulaRootOutsideValidity(t *testing.T) {
	t.Parallel()
	now := at.Epoch
	ca := nebulatest.NewCA(t, "old", cert.Curve_CURVE25519, now.Add(-48*time.Hour), now.Add(-24*time.Hour))
	host := ca.Issue(t, nebulatest.HostOptions{Name: hostName, Networks: []string{"10.1.0.5/16"},
		NotBefore: now.Add(-47 * time.Hour), NotAfter: now.Add(-25 * time.Hour)})
	env := at.New(t, at.Options{
		Registry:         provisioner.Registry{provisioner.TypeNebula: nebula.New},
		MoreProvisioners: []json.RawMessage{nebulatest.Entry(t, "neb", nil, ca)},
	})
	e := &nebEnv{Env: env, ca: ca, host: host}
	_, err := e.sign(context.Background(), at.NewCSR(t, at.CSR{CommonName: hostName}), host.Token(t, e.claims(t, hostName)), 0)
	if !errs.Is(err, errs.Unauthorized) || !strings.Contains(err.Error(), "root certificate is expired") {
		t.Fatalf("Sign = %v, want Unauthorized: root certificate is expired", err)
	}
}
