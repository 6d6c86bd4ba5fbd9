package authority_test

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"testing"
	"time"

	"github.com/mayfly-pki/mayfly/authority"
	at "github.com/mayfly-pki/mayfly/authority/authoritytest"
	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/policy"
	"github.com/mayfly-pki/mayfly/provisioner"
	"github.com/sirupsen/logrus"
	"github.com/sirupsen/logrus/hooks/test"
)

var examplePolicy = &policy.X509Options{
	Allow: &policy.Names{DNSDomains: []string{"*.example.com"}},
	Deny:  &policy.Names{DNSDomains: []string{"bad.example.com"}},
}

func TestPolicySign(t *testing.T) {
	t.Parallel()
	logger, hook := test.NewNullLogger()
	env := at.New(t, at.Options{X509Policy: examplePolicy, Logger: logger})
	sign := func(sub string, sans ...string) error {
		csr := at.NewCSR(t, at.CSR{CommonName: sub, DNSNames: sans})
		_, err := env.Authority.Sign(ctx, &authority.SignRequest{CSR: csr, OTT: env.SignToken(t, sub, sans...)})
		return err
	}
	if err := sign("ok.example.com", "ok.example.com"); err != nil {
		t.Fatalf("allowed name: %v", err)
	}
	wantErr(t, sign("bad.example.com", "bad.example.com"), errs.Forbidden,
		`The request was forbidden by the certificate authority: dns name "bad.example.com" not allowed`)
	wantErr(t, sign("ok.example.com", "ok.example.com", "other.example.org"), errs.Forbidden,
		`The request was forbidden by the certificate authority: dns name "other.example.org" not allowed`)
	// The log names the name and the rule.
	var found bool
	for _, e := range hook.AllEntries() {
		if e.Data["name"] == "bad.example.com" && e.Data["rule"] == "denied by rule dns:bad.example.com" && e.Level == logrus.WarnLevel {
			found = true
		}
	}
	if !found {
		t.Fatalf("no log entry names the rule: %v", hook.AllEntries())
	}
}

func TestPolicySignWithPlan(t *testing.T) {
	t.Parallel()
	env := at.New(t, at.Options{X509Policy: examplePolicy})
	plan := func(sub string) *provisioner.X509Plan {
		return &provisioner.X509Plan{Info: provisioner.Info{Name: "scep", Type: provisioner.TypeSCEP}, Subject: sub, SANs: []string{sub}, Claims: env.Authority.Claims()}
	}
	if _, err := env.Authority.SignWithPlan(ctx, at.NewCSR(t, at.CSR{CommonName: "s.example.com"}), plan("s.example.com")); err != nil {
		t.Fatalf("allowed: %v", err)
	}
	_, err := env.Authority.SignWithPlan(ctx, at.NewCSR(t, at.CSR{CommonName: "bad.example.com"}), plan("bad.example.com"))
	wantErr(t, err, errs.Forbidden, `The request was forbidden by the certificate authority: dns name "bad.example.com" not allowed`)
	// No allow rule for IPs while allow rules exist: refused.
	p := plan("s.example.com")
	p.SANs = append(p.SANs, "10.0.0.1")
	_, err = env.Authority.SignWithPlan(ctx, at.NewCSR(t, at.CSR{CommonName: "s.example.com"}), p)
	wantErr(t, err, errs.Forbidden, `The request was forbidden by the certificate authority: ip name "10.0.0.1" not allowed`)
}

// tightened builds a second authority over env's PKI and store with
// policy p, as a restarted CA with an edited ca.json.
func tightened(t *testing.T, env *at.Env, p *policy.X509Options) *authority.Authority {
	t.Helper()
	a, err := authority.New(authority.Options{
		Roots: []*x509.Certificate{env.PKI.Root}, Intermediates: []*x509.Certificate{env.PKI.Intermediate},
		Signer: env.PKI.IntermediateKey, DNSNames: []string{at.DNSName},
		Provisioners: []json.RawMessage{env.Admin.Entry(t, nil)}, Registry: at.Registry(),
		Store: env.Store, Now: env.Clock.Now, X509Policy: p,
	})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestPolicyRenewRekey(t *testing.T) {
	t.Parallel()
	env := at.New(t, at.Options{})
	old, _ := env.Issue(t, "r.example.com", time.Hour)
	loose := tightened(t, env, examplePolicy)
	if _, err := loose.Renew(ctx, old); err != nil {
		t.Fatalf("renew under an allowing policy: %v", err)
	}
	strict := tightened(t, env, &policy.X509Options{Deny: &policy.Names{DNSDomains: []string{"r.example.com"}}})
	_, err := strict.Renew(ctx, old)
	wantErr(t, err, errs.Forbidden, `The request was forbidden by the certificate authority: dns name "r.example.com" not allowed`)
	_, err = strict.Rekey(ctx, old, at.NewCSR(t, at.CSR{}))
	wantErr(t, err, errs.Forbidden, `The request was forbidden by the certificate authority: dns name "r.example.com" not allowed`)
	iss, err := loose.Rekey(ctx, old, at.NewCSR(t, at.CSR{}))
	if err != nil {
		t.Fatalf("rekey under an allowing policy: %v", err)
	}
	if c := parse(t, iss.DER); !bytes.Equal(c.RawSubject, old.RawSubject) {
		t.Fatal("subject changed")
	}
}

func TestPolicyBadRule(t *testing.T) {
	t.Parallel()
	env := at.New(t, at.Options{})
	_, err := authority.New(authority.Options{
		Roots: []*x509.Certificate{env.PKI.Root}, Intermediates: []*x509.Certificate{env.PKI.Intermediate},
		Signer: env.PKI.IntermediateKey, Store: env.Store, Registry: at.Registry(),
		X509Policy: &policy.X509Options{Allow: &policy.Names{IPRanges: []string{"10.0.0.0/40"}}},
	})
	if err == nil {
		t.Fatal("bad CIDR accepted")
	}
}
