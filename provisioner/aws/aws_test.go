package aws_test

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
	"github.com/mayfly-pki/mayfly/provisioner/aws"
	"github.com/mayfly-pki/mayfly/provisioner/aws/awstest"
	"github.com/mayfly-pki/mayfly/provisioner/provtest"
	"github.com/mayfly-pki/mayfly/provisioner/token"
)

const audience = at.CAURL + "/1.0/sign#aws/aws"

type env struct {
	*at.Env
	aws  *awstest.AWS
	prov provisioner.Interface
	n    atomic.Int64
}

func newEnv(t *testing.T, extra map[string]any) *env {
	t.Helper()
	a := awstest.New(t)
	entry := map[string]any{"type": "AWS", "name": "aws", "iidRoots": a.CertFile}
	for k, v := range extra {
		entry[k] = v
	}
	raw, err := json.Marshal(entry)
	if err != nil {
		t.Fatal(err)
	}
	e := at.New(t, at.Options{
		MoreProvisioners: []json.RawMessage{raw},
		Registry:         provisioner.Registry{provisioner.TypeAWS: aws.New},
	})
	p, ok := e.Authority.Provisioners().ByName("aws")
	if !ok {
		t.Fatal("no provisioner aws")
	}
	return &env{Env: e, aws: a, prov: p}
}

func (e *env) doc() aws.Document {
	d := awstest.DefaultDocument(e.Clock.Now())
	d.InstanceID = fmt.Sprintf("i-%017d", e.n.Add(1))
	return d
}

func (e *env) token(t testing.TB, sub string, doc aws.Document, mod func(map[string]any)) string {
	b, sig := e.aws.Sign(t, doc)
	c := awstest.Claims(sub, audience, e.Clock.Now())
	if mod != nil {
		mod(c)
	}
	return awstest.Token(t, c, b, sig)
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

func (e *env) fromClaims(t testing.TB, c *token.Claims, sign func(doc aws.Document) ([]byte, []byte)) string {
	cl := awstest.Claims(c.Subject, c.Audience[0], e.Clock.Now())
	cl["exp"], cl["iat"] = c.Expiry.Time().Unix(), c.IssuedAt.Time().Unix()
	if c.NotBefore != nil {
		cl["nbf"] = c.NotBefore.Time().Unix()
	}
	if c.Issuer != "aws" {
		cl["iss"] = c.Issuer
	}
	b, sig := sign(e.doc())
	return awstest.Token(t, cl, b, sig)
}

func TestConformance(t *testing.T) {
	e := newEnv(t, nil)
	foreign := awstest.New(t)
	provtest.Run(t, provtest.Harness{
		Name: "aws", Audience: audience, Now: e.Clock.Now, Backdate: time.Minute, Claims: e.prov.Claims(),
		RequestNames: true,
		Mint: func(t testing.TB, c *token.Claims) string {
			return e.fromClaims(t, c, func(d aws.Document) ([]byte, []byte) { return e.aws.Sign(t, d) })
		},
		MintForeign: func(t testing.TB, c *token.Claims) string {
			return e.fromClaims(t, c, func(d aws.Document) ([]byte, []byte) { return foreign.Sign(t, d) })
		},
		Sign: e.sign,
	})
}

// TestIssues: the request's names with the token's subject as common name,
// the AWS extension with the account and instance, one certificate per
// instance.
func TestIssues(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := context.Background()
	doc := e.doc()
	cert, err := e.sign(ctx, at.NewCSR(t, at.CSR{CommonName: "svc", DNSNames: []string{"a.example.com"}}), e.token(t, "svc", doc, nil), 0)
	if err != nil {
		t.Fatal(err)
	}
	if cert.Subject.CommonName != "svc" || strings.Join(cert.DNSNames, ",") != "a.example.com" {
		t.Fatalf("issued %v %v", cert.Subject, cert.DNSNames)
	}
	ext, ok := provisioner.FindExtension(cert)
	if !ok || ext.Type != provisioner.TypeAWS || ext.Name != "aws" || ext.CredentialID != doc.AccountID ||
		strings.Join(ext.KeyValuePairs, ",") != "InstanceID,"+doc.InstanceID {
		t.Fatalf("extension %+v", ext)
	}
	_, err = e.sign(ctx, at.NewCSR(t, at.CSR{CommonName: "svc"}), e.token(t, "svc", doc, func(c map[string]any) { c["iat"] = e.Clock.Now().Unix() - 1 }), 0)
	if !errs.Is(err, errs.Unauthorized) || !strings.Contains(err.Error(), "token already used") {
		t.Fatalf("second certificate of an instance: %v", err)
	}
	// The common name is the token's subject.
	if _, err := e.sign(ctx, at.NewCSR(t, at.CSR{CommonName: "other"}), e.token(t, "svc", e.doc(), nil), 0); !errs.Is(err, errs.Forbidden) {
		t.Fatalf("other common name: %v", err)
	}
}

func TestDisableTrustOnFirstUse(t *testing.T) {
	t.Parallel()
	e := newEnv(t, map[string]any{"disableTrustOnFirstUse": true})
	ctx := context.Background()
	doc := e.doc()
	ott := e.token(t, "svc", doc, nil)
	if _, err := e.sign(ctx, at.NewCSR(t, at.CSR{CommonName: "svc"}), ott, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := e.sign(ctx, at.NewCSR(t, at.CSR{CommonName: "svc"}), e.token(t, "svc", doc, func(c map[string]any) { c["iat"] = e.Clock.Now().Unix() - 1 }), 0); err != nil {
		t.Fatalf("second token of the instance: %v", err)
	}
	if _, err := e.sign(ctx, at.NewCSR(t, at.CSR{CommonName: "svc"}), ott, 0); !errs.Is(err, errs.Unauthorized) {
		t.Fatalf("replayed token: %v", err)
	}
}

func TestDisableCustomSANs(t *testing.T) {
	t.Parallel()
	e := newEnv(t, map[string]any{"disableCustomSANs": true})
	ctx := context.Background()
	doc := e.doc()
	dns := aws.DNSName(&doc)
	if dns != "ip-10-0-1-2.us-west-2.compute.internal" {
		t.Fatalf("DNSName = %s", dns)
	}
	_, err := e.sign(ctx, at.NewCSR(t, at.CSR{CommonName: "svc"}), e.token(t, "svc", e.doc(), nil), 0)
	if !errs.Is(err, errs.Unauthorized) || !strings.Contains(err.Error(), "invalid subject claim") {
		t.Fatalf("custom subject: %v", err)
	}
	_, err = e.sign(ctx, at.NewCSR(t, at.CSR{CommonName: dns, DNSNames: []string{"a.example.com"}}), e.token(t, dns, e.doc(), nil), 0)
	if !errs.Is(err, errs.Forbidden) {
		t.Fatalf("custom DNS name: %v", err)
	}
	cert, err := e.sign(ctx, at.NewCSR(t, at.CSR{CommonName: dns}), e.token(t, dns, doc, nil), 0)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(cert.DNSNames, ",") != dns || len(cert.IPAddresses) != 1 || cert.IPAddresses[0].String() != doc.PrivateIP {
		t.Fatalf("issued %v %v", cert.DNSNames, cert.IPAddresses)
	}
}

func TestRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t, map[string]any{"accounts": []string{"123456789012"}, "instanceAge": "2h"})
	other := awstest.New(t)
	tests := []struct {
		name string
		tok  func(t *testing.T) string
		want string
	}{
		{"other account", func(t *testing.T) string {
			d := e.doc()
			d.AccountID = "999999999999"
			return e.token(t, "svc", d, nil)
		}, "accountId is not valid"},
		{"instance too old", func(t *testing.T) string {
			d := e.doc()
			d.PendingTime = e.Clock.Now().Add(-3 * time.Hour)
			return e.token(t, "svc", d, nil)
		}, "pendingTime is too old"},
		{"no private IP", func(t *testing.T) string {
			d := e.doc()
			d.PrivateIP = ""
			return e.token(t, "svc", d, nil)
		}, "privateIp cannot be empty"},
		{"signed by another certificate", func(t *testing.T) string {
			b, sig := other.Sign(t, e.doc())
			return awstest.Token(t, awstest.Claims("svc", audience, e.Clock.Now()), b, sig)
		}, "invalid aws token signature"},
		{"document changed", func(t *testing.T) string {
			b, sig := e.aws.Sign(t, e.doc())
			d := e.doc()
			d.AccountID = "123456789012"
			b2, _ := json.Marshal(d)
			_ = b
			return awstest.Token(t, awstest.Claims("svc", audience, e.Clock.Now()), b2, sig)
		}, "invalid aws token signature"},
		{"expired", func(t *testing.T) string {
			return e.token(t, "svc", e.doc(), func(c map[string]any) { c["exp"] = e.Clock.Now().Add(-2 * time.Minute).Unix() })
		}, "expired"},
		{"wrong issuer", func(t *testing.T) string {
			return e.token(t, "svc", e.doc(), func(c map[string]any) { c["iss"] = "other" })
		}, "invalid issuer"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.sign(context.Background(), at.NewCSR(t, at.CSR{CommonName: "svc"}), tc.tok(t), 0)
			if !errs.Is(err, errs.Unauthorized) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Sign = %v, want Unauthorized %q", err, tc.want)
			}
		})
	}
}

// TestNoIIDRoots: without iidRoots the provisioner loads, and refuses
// tokens saying why (this build has no built-in AWS certificates).
func TestNoIIDRoots(t *testing.T) {
	t.Parallel()
	a := awstest.New(t)
	e := at.New(t, at.Options{
		MoreProvisioners: []json.RawMessage{json.RawMessage(`{"type":"AWS","name":"aws"}`)},
		Registry:         provisioner.Registry{provisioner.TypeAWS: aws.New},
	})
	b, sig := a.Sign(t, awstest.DefaultDocument(e.Clock.Now()))
	_, err := e.Authority.Sign(context.Background(), &authority.SignRequest{
		CSR: at.NewCSR(t, at.CSR{CommonName: "svc"}), OTT: awstest.Token(t, awstest.Claims("svc", audience, e.Clock.Now()), b, sig),
	})
	if !errs.Is(err, errs.Unauthorized) || !strings.Contains(err.Error(), "set iidRoots") {
		t.Fatalf("Sign = %v", err)
	}
}

func TestInvalidConfig(t *testing.T) {
	t.Parallel()
	for raw, want := range map[string]string{
		`{"type":"AWS","name":"a","instanceAge":"-1s"}`:       "instanceAge cannot be negative",
		`{"type":"AWS","name":"a","imdsVersions":["v3"]}`:     "not a supported AWS Instance Metadata Service version",
		`{"type":"AWS","name":"a","iidRoots":"/nonexistent"}`: "iidRoots",
	} {
		if _, err := aws.New(json.RawMessage(raw), provisioner.Config{}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("New(%s) = %v, want %q", raw, err, want)
		}
	}
}

func FuzzParsePayload(f *testing.F) {
	f.Add([]byte(`{"amazon":{"document":"e30=","signature":"AAAA"}}`))
	f.Fuzz(func(t *testing.T, b []byte) { _, _ = aws.ParsePayload(b) })
}
