package k8ssa_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/mayfly-pki/mayfly/authority"
	at "github.com/mayfly-pki/mayfly/authority/authoritytest"
	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/internal/timeutil"
	"github.com/mayfly-pki/mayfly/provisioner"
	"github.com/mayfly-pki/mayfly/provisioner/k8ssa"
	"github.com/mayfly-pki/mayfly/provisioner/provtest"
	"github.com/mayfly-pki/mayfly/provisioner/token"
)

const (
	saSubject = "system:serviceaccount:default:builder"
	saName    = "builder"
)

// signer is a cluster's service-account signing key.
type signer struct {
	key crypto.Signer
	alg jose.SignatureAlgorithm
	kid string
}

func newRSA(t testing.TB) *signer {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return &signer{key: k, alg: jose.RS256, kid: "rsa-sa-key"}
}

func newEC(t testing.TB) *signer {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &signer{key: k, alg: jose.ES256, kid: "ec-sa-key"}
}

// pem returns the public key as a PKIX PEM block, as sa.pub is.
func (s *signer) pem(t testing.TB) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(s.key.Public())
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// mint signs payload as the API server signs a service account token:
// header {"alg", "kid"}, no typ.
func (s *signer) mint(t testing.TB, payload any) string {
	t.Helper()
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: s.alg, Key: s.key}, (&jose.SignerOptions{}).WithHeader("kid", s.kid))
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := sig.Sign(b)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// legacy returns the payload of a secret-based service account token: no
// aud, exp, iat or jti.
func legacy() map[string]any {
	return map[string]any{
		"iss":                                    "kubernetes/serviceaccount",
		"kubernetes.io/serviceaccount/namespace": "default",
		"kubernetes.io/serviceaccount/secret.name":          "builder-token-x7k2p",
		"kubernetes.io/serviceaccount/service-account.name": saName,
		"kubernetes.io/serviceaccount/service-account.uid":  "3b5e1f0c-8d7a-4f3e-9a51-0c2d6e7f8a9b",
		"sub": saSubject,
	}
}

func entry(t testing.TB, name string, pems []byte, extra map[string]any) json.RawMessage {
	t.Helper()
	m := map[string]any{"type": "K8SSA", "name": name, "publicKeys": pems}
	for k, v := range extra {
		m[k] = v
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type env struct {
	*at.Env
}

func newEnv(t testing.TB, entries ...json.RawMessage) *env {
	t.Helper()
	return &env{at.New(t, at.Options{
		Store:            at.OpenBadger(t),
		MoreProvisioners: entries,
		Registry:         provisioner.Registry{provisioner.TypeK8sSA: k8ssa.New},
	})}
}

func (e *env) sign(ctx context.Context, csr *x509.CertificateRequest, ott string, notAfter time.Duration) (*x509.Certificate, error) {
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

// TestConformance runs the conformance suite with tokens signed by an RSA
// and an EC service-account key. As step-ca, K8sSA checks neither the
// audience nor the request's names against the token.
func TestConformance(t *testing.T) {
	for _, tc := range []struct {
		name     string
		mk       func(testing.TB) *signer
		trustEC  bool
		otherKey func(testing.TB) *signer
	}{
		{"RSA", newRSA, false, newRSA},
		{"EC", newEC, true, newEC},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.mk(t)
			// Both kinds of keys are trusted; the token is signed by one.
			pems := append(s.pem(t), newEC(t).pem(t)...)
			if tc.trustEC {
				pems = append(newRSA(t).pem(t), s.pem(t)...)
			}
			e := newEnv(t, entry(t, "k8s", pems, nil))
			foreign := tc.otherKey(t)
			foreign.kid = s.kid
			p, _ := e.Authority.Provisioners().ByName("k8s")
			provtest.Run(t, provtest.Harness{
				// Service account tokens carry the cluster's audience, or
				// none: a token with the CA's audience is routed by its
				// "<iss>:<kid>" (wire-spec §4.8) and finds no provisioner,
				// as in step-ca.
				Name: "k8s", Issuer: k8ssa.Issuer, Audience: "https://kubernetes.default.svc.cluster.local",
				AnyAudience: true, RequestNames: true,
				Now: e.Clock.Now, Backdate: time.Minute, Claims: p.Claims(),
				Mint:        func(t testing.TB, c *token.Claims) string { return s.mint(t, c) },
				MintForeign: func(t testing.TB, c *token.Claims) string { return foreign.mint(t, c) },
				Sign:        e.sign,
			})
		})
	}
}

// TestLegacyToken issues with a secret-based token: the request's subject
// and names, the provisioner extension (type 8, the name, no credential
// ID), and the token may be used again (step-ca records none).
func TestLegacyToken(t *testing.T) {
	s := newRSA(t)
	e := newEnv(t, entry(t, "k8s", s.pem(t), nil))
	ott := s.mint(t, legacy())
	for i := range 2 {
		cert, err := e.sign(context.Background(), provtest.CSR(t, "builder.default.svc", "builder.default.svc", "builder.example.com"), ott, 0)
		if err != nil {
			t.Fatalf("use %d: %v", i+1, err)
		}
		if cert.Subject.CommonName != "builder.default.svc" || strings.Join(cert.DNSNames, ",") != "builder.default.svc,builder.example.com" {
			t.Fatalf("issued %v %v", cert.Subject, cert.DNSNames)
		}
		ext, ok := provisioner.FindExtension(cert)
		if !ok || ext.Type != provisioner.TypeK8sSA || ext.Name != "k8s" || ext.CredentialID != "" {
			t.Fatalf("provisioner extension %+v, %v", ext, ok)
		}
	}
}

// TestTemplate: a custom template sees the service account's name as
// .Subject.CommonName and the token's claims as .Token; templateData alone
// keeps the request's names.
func TestTemplate(t *testing.T) {
	s := newEC(t)
	tmpl := `{"subject": {"commonName": {{ toJson .Subject.CommonName }}, "organizationalUnit": {{ toJson (index .Token "kubernetes.io/serviceaccount/namespace") }}}, "dnsNames": ["{{ .Subject.CommonName }}.svc"]}`
	e := newEnv(t, entry(t, "k8s", s.pem(t), map[string]any{"options": map[string]any{"x509": map[string]any{"template": tmpl}}}))
	cert, err := e.sign(context.Background(), provtest.CSR(t, "ignored.example.com"), s.mint(t, legacy()), 0)
	if err != nil {
		t.Fatal(err)
	}
	if cert.Subject.CommonName != saName || len(cert.Subject.OrganizationalUnit) != 1 || cert.Subject.OrganizationalUnit[0] != "default" ||
		len(cert.DNSNames) != 1 || cert.DNSNames[0] != saName+".svc" {
		t.Fatalf("templated %v %v", cert.Subject, cert.DNSNames)
	}

	e = newEnv(t, entry(t, "k8s", s.pem(t), map[string]any{"options": map[string]any{"x509": map[string]any{"templateData": map[string]any{"x": 1}}}}))
	cert, err = e.sign(context.Background(), provtest.CSR(t, "a.example.com", "a.example.com"), s.mint(t, legacy()), 0)
	if err != nil {
		t.Fatal(err)
	}
	if cert.Subject.CommonName != "a.example.com" || len(cert.DNSNames) != 1 {
		t.Fatalf("templateData only: %v %v", cert.Subject, cert.DNSNames)
	}
}

// TestRefusals: a bad signature, another issuer, an expired or not yet
// valid token and an empty subject are refused as Unauthorized with
// step-ca's messages; a token with an expiry is used once.
func TestRefusals(t *testing.T) {
	s, other := newRSA(t), newRSA(t)
	other.kid = s.kid
	e := newEnv(t, entry(t, "k8s", s.pem(t), nil))
	now := e.Clock.Now()
	with := func(kv ...any) map[string]any {
		m := legacy()
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	ctx := context.Background()
	valid := s.mint(t, legacy())
	parts := strings.Split(valid, ".")
	// Another account's payload under this token's signature.
	parts[1] = strings.Split(s.mint(t, with("sub", "system:serviceaccount:kube-system:admin")), ".")[1]
	const prefix = "k8ssa.authorizeToken; "
	tests := []struct {
		name string
		ott  string
		want string
	}{
		{"other key", other.mint(t, legacy()), prefix + "error validating k8sSA token and extracting claims"},
		{"tampered", strings.Join(parts, "."), prefix + "error validating k8sSA token and extracting claims"},
		{"expired", s.mint(t, with("exp", now.Add(-2*time.Minute).Unix())), prefix + "invalid k8sSA token claims: go-jose/go-jose/jwt: validation failed, token is expired (exp)"},
		{"not yet valid", s.mint(t, with("nbf", now.Add(2*time.Minute).Unix())), prefix + "invalid k8sSA token claims: go-jose/go-jose/jwt: validation failed, token not valid yet (nbf)"},
		{"empty subject", s.mint(t, with("sub", "")), prefix + "k8sSA token subject cannot be empty"},
		{"other issuer", s.mint(t, with("iss", "https://kubernetes.default.svc")), "provisioner not found or invalid audience"},
		// A projected token (the cluster's issuer) is not a K8sSA token for
		// step-ca: it routes by its audience, to no provisioner.
		{"projected", s.mint(t, map[string]any{
			"aud": []string{"https://kubernetes.default.svc.cluster.local"}, "exp": now.Add(time.Hour).Unix(), "iat": now.Unix(),
			"iss": "https://kubernetes.default.svc.cluster.local", "jti": "5c1e", "nbf": now.Unix(), "sub": saSubject,
			"kubernetes.io": map[string]any{"namespace": "default", "serviceaccount": map[string]any{"name": saName, "uid": "3b5e"}},
		}), "provisioner not found or invalid audience (https://kubernetes.default.svc.cluster.local)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.sign(ctx, provtest.CSR(t, "a.example.com"), tc.ott, 0)
			if err == nil || !errs.Is(err, errs.Unauthorized) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v (%v), want Unauthorized %q", err, errs.KindOf(err), tc.want)
			}
		})
	}

	// Within the leeway of a minute, exp and nbf hold.
	for _, m := range []map[string]any{with("exp", now.Add(-30*time.Second).Unix()), with("nbf", now.Add(30*time.Second).Unix())} {
		if _, err := e.sign(ctx, provtest.CSR(t, "a.example.com"), s.mint(t, m), 0); err != nil {
			t.Fatalf("within leeway %v: %v", m, err)
		}
	}

	// The issuer is checked by the provisioner too, whatever routed the token.
	p, _ := e.Authority.Provisioners().ByName("k8s")
	tok, err := token.Parse(s.mint(t, with("iss", "kubernetes/other")))
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.AuthorizeSign(ctx, tok)
	if want := prefix + "invalid k8sSA token claims: go-jose/go-jose/jwt: validation failed, invalid issuer claim (iss)"; err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("other issuer: %v, want %q", err, want)
	}

	// A projected-style token with an expiry and a jti is used once.
	ott := s.mint(t, with("exp", now.Add(time.Hour).Unix(), "iat", now.Unix(), "jti", "3f2a"))
	if _, err := e.sign(ctx, provtest.CSR(t, "a.example.com"), ott, 0); err != nil {
		t.Fatalf("first use: %v", err)
	}
	_, err = e.sign(ctx, provtest.CSR(t, "a.example.com"), ott, 0)
	if err == nil || !strings.Contains(err.Error(), "token already used") {
		t.Fatalf("second use: %v, want token already used", err)
	}
}

// TestConfig checks the ca.json entry: publicKeys is required and must hold
// PEM public keys (PKIX, PKCS #1 or a certificate's); a CA has at most one
// K8sSA provisioner (the token ID is constant).
func TestConfig(t *testing.T) {
	s := newRSA(t)
	cfg := provisioner.Config{}
	pkcs1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(s.key.Public().(*rsa.PublicKey))})
	pki := at.NewPKI(t, at.Epoch, time.Hour)
	cert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: pki.Root.Raw})
	for _, ok := range [][]byte{s.pem(t), pkcs1, cert, append(append(s.pem(t), pkcs1...), cert...)} {
		p, err := k8ssa.New(entry(t, "k8s", ok, nil), cfg)
		if err != nil {
			t.Fatalf("New(%q): %v", ok, err)
		}
		if p.TokenID() != "k8ssa/k8sSA-default" || p.Info().ID != "k8ssa/k8sSA-default" || p.Info().Type != provisioner.TypeK8sSA {
			t.Fatalf("ids %q %+v", p.TokenID(), p.Info())
		}
	}
	for _, tc := range []struct {
		raw  json.RawMessage
		want string
	}{
		{json.RawMessage(`{"type":"K8sSA","name":"k8s"}`), "cannot be initialized without pub keys"},
		{entry(t, "k8s", []byte("not pem"), nil), "no PEM public keys found"},
		{entry(t, "k8s", []byte("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"), nil), "error parsing public key 1"},
		{entry(t, "", s.pem(t), nil), "provisioner name cannot be empty"},
	} {
		if _, err := k8ssa.New(tc.raw, cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Fatalf("New(%s): %v, want %q", tc.raw, err, tc.want)
		}
	}
	p1, err := k8ssa.New(entry(t, "k8s", s.pem(t), nil), cfg)
	if err != nil {
		t.Fatal(err)
	}
	p2, err := k8ssa.New(entry(t, "k8s-2", s.pem(t), nil), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := provisioner.NewCollection([]provisioner.Interface{p1, p2}, provisioner.Audiences{}); err == nil || !strings.Contains(err.Error(), "k8ssa/k8sSA-default") {
		t.Fatalf("two K8sSA provisioners: %v", err)
	}
}
