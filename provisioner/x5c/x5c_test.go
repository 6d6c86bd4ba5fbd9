package x5c_test

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/mayfly-pki/mayfly/authority"
	at "github.com/mayfly-pki/mayfly/authority/authoritytest"
	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/internal/timeutil"
	"github.com/mayfly-pki/mayfly/provisioner"
	"github.com/mayfly-pki/mayfly/provisioner/provtest"
	"github.com/mayfly-pki/mayfly/provisioner/token"
	"github.com/mayfly-pki/mayfly/provisioner/x5c"
)

const audience = at.CAURL + "/1.0/sign#x5c/x5cp"

// x5cEnv is an authority with an X5C provisioner "x5cp" trusting the CA's
// own root, and a client leaf the intermediate signed.
type x5cEnv struct {
	*at.Env
	leaf *x509.Certificate
	key  crypto.Signer
}

func newX5CEnv(t *testing.T, extra map[string]any) *x5cEnv {
	t.Helper()
	env := at.New(t, at.Options{Store: at.OpenBadger(t), MoreProvisionersFn: func(p *at.PKI) []json.RawMessage {
		return []json.RawMessage{at.X5CEntry(t, "x5cp", []*x509.Certificate{p.Root}, extra)}
	}})
	now := env.Clock.Now()
	leaf, key := env.PKI.IssueLeaf(t, at.Leaf{CommonName: "client", NotBefore: now.Add(-time.Hour), NotAfter: now.Add(3 * time.Hour)})
	return &x5cEnv{Env: env, leaf: leaf, key: key}
}

func (e *x5cEnv) claims(t testing.TB, sub string, sans ...string) *token.Claims {
	c := e.Admin.Claims(t, audience, sub, e.Clock.Now())
	c.Issuer, c.SANs = "x5cp", sans
	return c
}

func (e *x5cEnv) mint(t testing.TB, c *token.Claims) string {
	return at.X5CToken(t, c, []*x509.Certificate{e.leaf, e.PKI.Intermediate}, e.key, "certs/client.key")
}

func (e *x5cEnv) sign(ctx context.Context, csr *x509.CertificateRequest, ott string, notAfter time.Duration) (*x509.Certificate, error) {
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

// TestConformance runs the provisioner conformance suite on X5C; the
// foreign credential is a leaf of another PKI with the same subject.
func TestConformance(t *testing.T) {
	e := newX5CEnv(t, nil)
	other := at.NewPKI(t, e.Clock.Now(), 24*time.Hour)
	foreignLeaf, foreignKey := other.IssueLeaf(t, at.Leaf{CommonName: "client", NotBefore: e.leaf.NotBefore, NotAfter: e.leaf.NotAfter})
	p, _ := e.Authority.Provisioners().ByName("x5cp")
	provtest.Run(t, provtest.Harness{
		Name: "x5cp", Audience: audience, Now: e.Clock.Now, Backdate: time.Minute, Claims: p.Claims(),
		Mint: e.mint,
		MintForeign: func(t testing.TB, c *token.Claims) string {
			return at.X5CToken(t, c, []*x509.Certificate{foreignLeaf, other.Intermediate}, foreignKey, "certs/client.key")
		},
		Sign: e.sign,
	})
}

// TestX5CRefusals checks the credential checks of wire-spec §4.4: a chain to
// another root, an expired or not yet valid leaf, a leaf without clientAuth
// or digitalSignature, and a token signed by another key are refused as
// Unauthorized with step-ca's message.
func TestX5CRefusals(t *testing.T) {
	t.Parallel()
	e := newX5CEnv(t, nil)
	now := e.Clock.Now()
	other := at.NewPKI(t, now, 24*time.Hour)
	otherLeaf, otherKey := other.IssueLeaf(t, at.Leaf{CommonName: "client", NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour)})
	expired, expiredKey := e.PKI.IssueLeaf(t, at.Leaf{CommonName: "client", NotBefore: now.Add(-3 * time.Hour), NotAfter: now.Add(-time.Hour)})
	future, futureKey := e.PKI.IssueLeaf(t, at.Leaf{CommonName: "client", NotBefore: now.Add(time.Hour), NotAfter: now.Add(3 * time.Hour)})
	server, serverKey := e.PKI.IssueLeaf(t, at.Leaf{CommonName: "client", NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	noSig, noSigKey := e.PKI.IssueLeaf(t, at.Leaf{CommonName: "client", NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		KeyUsage: x509.KeyUsageKeyEncipherment})
	inter := e.PKI.Intermediate
	const chainMsg = "x5c.authorizeToken; error verifying x5c certificate chain in token"
	tests := []struct {
		name  string
		chain []*x509.Certificate
		key   crypto.Signer
		want  string
	}{
		{"chain to another root", []*x509.Certificate{otherLeaf, other.Intermediate}, otherKey, chainMsg},
		{"leaf signed by another intermediate, ours sent", []*x509.Certificate{otherLeaf, inter}, otherKey, chainMsg},
		{"expired leaf", []*x509.Certificate{expired, inter}, expiredKey, chainMsg},
		{"leaf not yet valid", []*x509.Certificate{future, inter}, futureKey, chainMsg},
		{"no clientAuth", []*x509.Certificate{server, inter}, serverKey, chainMsg},
		{"no digitalSignature", []*x509.Certificate{noSig, inter}, noSigKey, "cannot be used for digital signature"},
		{"signed by another key", []*x509.Certificate{e.leaf, inter}, at.NewKey(t), "x5c.authorizeToken; error parsing x5c claims"},
		{"no intermediate", []*x509.Certificate{e.leaf}, e.key, chainMsg},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ott := at.X5CToken(t, e.claims(t, "a.example.com"), tc.chain, tc.key, "k")
			_, err := e.sign(context.Background(), at.NewCSR(t, at.CSR{CommonName: "a.example.com"}), ott, 0)
			if !errs.Is(err, errs.Unauthorized) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Sign = %v, want Unauthorized %q", err, tc.want)
			}
		})
	}
	// A token without x5c header addressed to the X5C provisioner.
	noX5C := e.Admin.Sign(t, e.claims(t, "a.example.com"))
	_, err := e.sign(context.Background(), at.NewCSR(t, at.CSR{CommonName: "a.example.com"}), noX5C, 0)
	if !errs.Is(err, errs.Unauthorized) || !strings.Contains(err.Error(), chainMsg) {
		t.Fatalf("token without x5c: %v", err)
	}
}

// TestX5CIssues checks what X5C issues: the default leaf with the X5C
// provisioner extension, NotAfter cut to the x5c leaf's by default, a
// requested NotAfter past it refused (as step-ca), the CSR's common name
// exactly the subject.
func TestX5CIssues(t *testing.T) {
	t.Parallel()
	e := newX5CEnv(t, map[string]any{"claims": map[string]any{"defaultTLSCertDuration": "24h"}})
	ctx := context.Background()
	csr := func(cn string, dns ...string) *x509.CertificateRequest {
		return at.NewCSR(t, at.CSR{CommonName: cn, DNSNames: dns})
	}
	cert, err := e.sign(ctx, csr("svc.example.com", "svc.example.com"), e.mint(t, e.claims(t, "svc.example.com")), 0)
	if err != nil {
		t.Fatal(err)
	}
	if !cert.NotAfter.Equal(e.leaf.NotAfter) {
		t.Fatalf("notAfter %s, want the x5c leaf's %s", cert.NotAfter, e.leaf.NotAfter)
	}
	ext, ok := provisioner.FindExtension(cert)
	if !ok || ext.Type != provisioner.TypeX5C || ext.Name != "x5cp" || ext.CredentialID != "" {
		t.Fatalf("provisioner extension %+v, %v", ext, ok)
	}
	if cert.Subject.CommonName != "svc.example.com" || strings.Join(cert.DNSNames, ",") != "svc.example.com" {
		t.Fatalf("subject %v, SANs %v", cert.Subject, cert.DNSNames)
	}
	cert, err = e.sign(ctx, csr("svc.example.com"), e.mint(t, e.claims(t, "svc.example.com")), time.Hour)
	if err != nil || !cert.NotAfter.Equal(e.Clock.Now().Add(time.Hour).Truncate(time.Second)) {
		t.Fatalf("notAfter 1h: %v, %v", cert, err)
	}
	_, err = e.sign(ctx, csr("svc.example.com"), e.mint(t, e.claims(t, "svc.example.com")), 4*time.Hour)
	if !errs.Is(err, errs.Forbidden) || !strings.Contains(err.Error(), "after the expiration of the provisioning credential") {
		t.Fatalf("notAfter past the x5c leaf: %v", err)
	}
	for _, cn := range []string{"", "other.example.com"} {
		_, err = e.sign(ctx, csr(cn), e.mint(t, e.claims(t, "svc.example.com", "svc.example.com", cn)), 0)
		if !errs.Is(err, errs.Forbidden) || !strings.Contains(err.Error(), "common name") {
			t.Fatalf("CSR common name %q: %v", cn, err)
		}
	}
	// The certificate renews with its provisioner, and revokes by token.
	if r, err := e.Authority.Renew(ctx, cert); err != nil || r.Provisioner.Name != "x5cp" {
		t.Fatalf("renew: %v, %v", r, err)
	}
	serial := cert.SerialNumber.String()
	c := e.claims(t, serial)
	c.Audience = token.Audience{at.CAURL + "/1.0/revoke#x5c/x5cp"}
	if _, err := e.Authority.Revoke(ctx, &authority.RevokeRequest{Serial: serial, OTT: e.mint(t, c)}); err != nil {
		t.Fatalf("revoke: %v", err)
	}
}

// TestX5CTemplate checks .AuthorizationCrt and .AuthorizationChain in
// templates, as step-ca provides them.
func TestX5CTemplate(t *testing.T) {
	t.Parallel()
	tmpl := `{"subject": {"commonName": {{ toJson .Subject.CommonName }}, "organizationalUnit": [{{ toJson .AuthorizationCrt.Subject.CommonName }}],
"organization": [{{ toJson (index .AuthorizationChain 1).Subject.CommonName }}]}, "sans": {{ toJson .SANs }}, "extKeyUsage": ["clientAuth"]}`
	e := newX5CEnv(t, map[string]any{"options": map[string]any{"x509": map[string]any{"template": tmpl}}})
	cert, err := e.sign(context.Background(), at.NewCSR(t, at.CSR{CommonName: "svc"}), e.mint(t, e.claims(t, "svc")), 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(cert.Subject.OrganizationalUnit, ","); got != "client" {
		t.Fatalf("OU from .AuthorizationCrt = %q", got)
	}
	if got := strings.Join(cert.Subject.Organization, ","); got != "Test Intermediate CA" {
		t.Fatalf("O from .AuthorizationChain = %q", got)
	}
	if !cert.NotAfter.Equal(e.leaf.NotAfter) {
		t.Fatalf("templated notAfter %s, want the x5c leaf's %s", cert.NotAfter, e.leaf.NotAfter)
	}
}

// TestNewErrors checks the ca.json problems an X5C entry can have.
func TestNewErrors(t *testing.T) {
	t.Parallel()
	cfg := provisioner.Config{Audiences: provisioner.NewAudiences([]string{at.DNSName}), Claims: provisioner.DefaultClaims}
	tests := []struct {
		name, entry, want string
	}{
		{"no roots", `{"type":"X5C","name":"x"}`, "provisioner root(s) cannot be empty"},
		{"roots not base64", `{"type":"X5C","name":"x","roots":"%%%"}`, "invalid X5C provisioner"},
		{"roots not PEM", `{"type":"X5C","name":"x","roots":"aGVsbG8="}`, "no x509 certificates found"},
		{"no name", `{"type":"X5C","roots":"aGVsbG8="}`, "provisioner name cannot be empty"},
	}
	for _, tc := range tests {
		if _, err := x5c.New(json.RawMessage(tc.entry), cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}

// TestX5CCachedChainExpires checks that a chain verified once (and cached)
// is refused once its leaf has expired, as a fresh verification refuses it.
func TestX5CCachedChainExpires(t *testing.T) {
	t.Parallel()
	e := newX5CEnv(t, nil)
	ctx := context.Background()
	for range 2 { // the second token's header is learned, its chain cached
		if _, err := e.sign(ctx, at.NewCSR(t, at.CSR{CommonName: "svc"}), e.mint(t, e.claims(t, "svc")), time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	e.Clock.Set(e.leaf.NotAfter.Add(time.Second))
	_, err := e.sign(ctx, at.NewCSR(t, at.CSR{CommonName: "svc"}), e.mint(t, e.claims(t, "svc")), 0)
	if !errs.Is(err, errs.Unauthorized) || !strings.Contains(err.Error(), "error verifying x5c certificate chain") {
		t.Fatalf("expired cached chain: %v", err)
	}
}
