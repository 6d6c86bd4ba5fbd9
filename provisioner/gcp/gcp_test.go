package gcp_test

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mayfly-pki/mayfly/authority"
	at "github.com/mayfly-pki/mayfly/authority/authoritytest"
	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/internal/timeutil"
	"github.com/mayfly-pki/mayfly/provisioner"
	"github.com/mayfly-pki/mayfly/provisioner/gcp"
	"github.com/mayfly-pki/mayfly/provisioner/gcp/gcptest"
	"github.com/mayfly-pki/mayfly/provisioner/provtest"
	"github.com/mayfly-pki/mayfly/provisioner/token"
)

const audience = at.CAURL + "/1.0/sign#gcp/gcp"

type env struct {
	*at.Env
	google *gcptest.Google
	prov   *gcp.Provisioner
	n      atomic.Int64
}

// newEnv is an authority with a GCP provisioner "gcp" (fields extra) whose
// keys come from a fake Google on loopback, loaded before it returns.
func newEnv(t *testing.T, extra map[string]any) *env {
	t.Helper()
	g := gcptest.New(t)
	entry := map[string]any{"type": "GCP", "name": "gcp"}
	for k, v := range extra {
		entry[k] = v
	}
	raw, err := json.Marshal(entry)
	if err != nil {
		t.Fatal(err)
	}
	e := at.New(t, at.Options{
		MoreProvisioners: []json.RawMessage{raw},
		Registry:         provisioner.Registry{provisioner.TypeGCP: gcp.NewWith(gcp.Endpoints{CertsURL: g.Certs.URL})},
	})
	p, ok := e.Authority.Provisioners().ByName("gcp")
	if !ok {
		t.Fatal("no provisioner gcp")
	}
	prov := p.(*gcp.Provisioner)
	at.RunUntilReady(t, prov, "Google's keys")
	return &env{Env: e, google: g, prov: prov}
}

// instance returns a new instance (its own ID).
func (e *env) instance() gcptest.Instance {
	in := gcptest.DefaultInstance(e.Clock.Now())
	in.ID = fmt.Sprintf("%d", 1000+e.n.Add(1))
	return in
}

func (e *env) token(t testing.TB, in gcptest.Instance, mod func(map[string]any)) string {
	pl := gcptest.Payload(in, audience, e.Clock.Now())
	if mod != nil {
		mod(pl)
	}
	return e.google.Mint(t, pl)
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

// fromClaims turns provtest's claims into a Google token for a new
// instance: the times and audience are the claims', the issuer Google's
// unless the suite changed it.
func (e *env) fromClaims(t testing.TB, c *token.Claims, sign func(map[string]any) string) string {
	pl := gcptest.Payload(e.instance(), c.Audience[0], e.Clock.Now())
	pl["exp"], pl["iat"] = c.Expiry.Time().Unix(), c.IssuedAt.Time().Unix()
	if c.NotBefore != nil {
		pl["nbf"] = c.NotBefore.Time().Unix()
	}
	if c.Issuer != "gcp" {
		pl["iss"] = c.Issuer
	}
	return sign(pl)
}

func TestConformance(t *testing.T) {
	e := newEnv(t, nil)
	foreign := gcptest.NewKey(t)
	provtest.Run(t, provtest.Harness{
		Name: "gcp", Audience: audience, Now: e.Clock.Now, Backdate: time.Minute, Claims: e.prov.Claims(),
		RequestNames: true,
		Mint: func(t testing.TB, c *token.Claims) string {
			return e.fromClaims(t, c, func(pl map[string]any) string { return e.google.Mint(t, pl) })
		},
		MintForeign: func(t testing.TB, c *token.Claims) string {
			return e.fromClaims(t, c, func(pl map[string]any) string { return gcptest.Sign(t, foreign, e.google.KID, pl) })
		},
		Sign: e.sign,
	})
}

// TestIssues checks what GCP issues by default: the request's names (trust
// on first use), the provisioner extension with the service account and
// the instance, and one certificate per instance.
func TestIssues(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := context.Background()
	in := e.instance()
	cert, err := e.sign(ctx, at.NewCSR(t, at.CSR{CommonName: "anything", DNSNames: []string{"a.example.com"}}), e.token(t, in, nil), 0)
	if err != nil {
		t.Fatal(err)
	}
	if cert.Subject.CommonName != "anything" || len(cert.DNSNames) != 1 || cert.DNSNames[0] != "a.example.com" {
		t.Fatalf("issued %v %v", cert.Subject, cert.DNSNames)
	}
	ext, ok := provisioner.FindExtension(cert)
	if !ok || ext.Type != provisioner.TypeGCP || ext.Name != "gcp" || ext.CredentialID != in.ServiceAccount ||
		strings.Join(ext.KeyValuePairs, ",") != "InstanceID,"+in.ID+",InstanceName,"+in.Name {
		t.Fatalf("extension %+v", ext)
	}
	// A second token of the same instance: refused (trust on first use).
	_, err = e.sign(ctx, at.NewCSR(t, at.CSR{CommonName: "anything"}), e.token(t, in, func(pl map[string]any) { pl["iat"] = e.Clock.Now().Unix() - 1 }), 0)
	if !errs.Is(err, errs.Unauthorized) || !strings.Contains(err.Error(), "token already used") {
		t.Fatalf("second certificate of an instance: %v", err)
	}
	// Revoke tokens are not supported.
	if err := e.prov.AuthorizeRevoke(ctx, nil); !errs.Is(err, errs.Unauthorized) {
		t.Fatalf("AuthorizeRevoke: %v", err)
	}
}

// TestDisableTrustOnFirstUse: one instance may get several certificates,
// each token once.
func TestDisableTrustOnFirstUse(t *testing.T) {
	t.Parallel()
	e := newEnv(t, map[string]any{"disableTrustOnFirstUse": true})
	ctx := context.Background()
	in := e.instance()
	ott := e.token(t, in, nil)
	if _, err := e.sign(ctx, at.NewCSR(t, at.CSR{CommonName: "a"}), ott, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := e.sign(ctx, at.NewCSR(t, at.CSR{CommonName: "a"}), e.token(t, in, func(pl map[string]any) { pl["iat"] = e.Clock.Now().Unix() - 1 }), 0); err != nil {
		t.Fatalf("second token of the instance: %v", err)
	}
	if _, err := e.sign(ctx, at.NewCSR(t, at.CSR{CommonName: "a"}), ott, 0); !errs.Is(err, errs.Unauthorized) {
		t.Fatalf("replayed token: %v", err)
	}
}

// TestDisableCustomSANs: the instance's names only.
func TestDisableCustomSANs(t *testing.T) {
	t.Parallel()
	e := newEnv(t, map[string]any{"disableCustomSANs": true})
	ctx := context.Background()
	in := e.instance()
	dns := []string{in.Name + ".c." + in.ProjectID + ".internal", in.Name + "." + in.Zone + ".c." + in.ProjectID + ".internal"}
	refusals := []at.CSR{
		{CommonName: "other", DNSNames: dns},
		{CommonName: in.Name, DNSNames: []string{"a.example.com"}},
		{CommonName: in.Name, DNSNames: dns[:1]},
		{CommonName: in.Name, Emails: []string{"a@example.com"}},
	}
	for _, c := range refusals {
		_, err := e.sign(ctx, at.NewCSR(t, c), e.token(t, e.instance(), nil), 0)
		if !errs.Is(err, errs.Forbidden) {
			t.Fatalf("%+v: %v", c, err)
		}
	}
	// The CN may be the name, the ID or a DNS name; the SANs are the DNS names
	// even when the request has none.
	for _, cn := range []string{"", dns[1]} {
		in := e.instance()
		if cn == "" {
			cn = in.ID
		}
		cert, err := e.sign(ctx, at.NewCSR(t, at.CSR{CommonName: cn}), e.token(t, in, nil), 0)
		if err != nil {
			t.Fatalf("%s: %v", cn, err)
		}
		if cert.Subject.CommonName != cn || strings.Join(cert.DNSNames, ",") != strings.Join(dns, ",") {
			t.Fatalf("issued %v %v", cert.Subject, cert.DNSNames)
		}
	}
}

// TestRefusals: other project, service account, too old, missing fields,
// wrong issuer, expired: Unauthorized with step-ca's messages.
func TestRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t, map[string]any{
		"projectIDs": []string{"mayfly-test"}, "serviceAccounts": []string{gcptest.DefaultInstance(time.Time{}).ServiceAccount},
		"instanceAge": "2h",
	})
	ce := func(k string, v any) func(map[string]any) {
		return func(pl map[string]any) { pl["google"].(map[string]any)["compute_engine"].(map[string]any)[k] = v }
	}
	tests := []struct {
		name string
		mod  func(map[string]any)
		want string
	}{
		{"other project", ce("project_id", "other"), "invalid project id"},
		{"other service account", func(pl map[string]any) { pl["sub"], pl["email"] = "x@y", "x@y" }, "invalid subject claim"},
		{"instance too old", ce("instance_creation_timestamp", e.Clock.Now().Add(-3*time.Hour).Unix()), "instance_creation_timestamp is too old"},
		{"no instance id", ce("instance_id", ""), "instance_id cannot be empty"},
		{"no zone", ce("zone", ""), "zone cannot be empty"},
		{"wrong issuer", func(pl map[string]any) { pl["iss"] = "https://evil.example.com" }, "invalid issuer"},
		{"expired", func(pl map[string]any) { pl["exp"] = e.Clock.Now().Add(-2 * time.Minute).Unix() }, "expired"},
		{"other provisioner fragment", func(pl map[string]any) { pl["aud"] = at.CAURL + "/1.0/sign#gcp/other" }, "provisioner not found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.sign(context.Background(), at.NewCSR(t, at.CSR{CommonName: "a"}), e.token(t, e.instance(), tc.mod), 0)
			if !errs.Is(err, errs.Unauthorized) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Sign = %v, want Unauthorized %q", err, tc.want)
			}
		})
	}
}

// TestKeysNotYetFetched: before Run fetched Google's keys, a token is
// refused at once with a clear error, not after a fetch.
func TestKeysNotYetFetched(t *testing.T) {
	t.Parallel()
	p, err := gcp.NewWith(gcp.Endpoints{CertsURL: "http://127.0.0.1:1/certs"})(json.RawMessage(`{"type":"GCP","name":"g"}`), provisioner.Config{})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := token.Parse(gcptest.Sign(t, gcptest.NewKey(t), "k", gcptest.Payload(gcptest.DefaultInstance(time.Now()), audience, time.Now())))
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.AuthorizeSign(context.Background(), tok)
	if !errs.Is(err, errs.Unauthorized) || !strings.Contains(err.Error(), "keys are not available yet") {
		t.Fatalf("AuthorizeSign = %v", err)
	}
}

// TestInvalidConfig: a negative instanceAge is refused.
func TestInvalidConfig(t *testing.T) {
	t.Parallel()
	_, err := gcp.New(json.RawMessage(`{"type":"GCP","name":"g","instanceAge":"-1h"}`), provisioner.Config{})
	if err == nil || !strings.Contains(err.Error(), "instanceAge cannot be negative") {
		t.Fatalf("New = %v", err)
	}
}

func FuzzParsePayload(f *testing.F) {
	f.Add([]byte(`{"google":{"compute_engine":{"instance_id":"1","instance_creation_timestamp":1}}}`))
	f.Add([]byte(`{"email":1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = gcp.ParsePayload(b)
	})
}
