package authority_test

import (
	"crypto/x509"
	"encoding/json"
	"strings"
	"testing"

	"github.com/mayfly-pki/mayfly/authority"
	at "github.com/mayfly-pki/mayfly/authority/authoritytest"
	"github.com/mayfly-pki/mayfly/internal/errs"
)

func lintSign(t testing.TB, env *at.Env, name string) error {
	csr := at.NewCSR(t, at.CSR{CommonName: name, DNSNames: []string{name}})
	_, err := env.Authority.Sign(ctx, &authority.SignRequest{CSR: csr, OTT: env.SignToken(t, name, name)})
	return err
}

func TestLint(t *testing.T) {
	t.Parallel()
	// RFC 5280's lints (the default) pass step's default leaf.
	env := at.New(t, at.Options{Lint: &authority.LintOptions{Enabled: true}})
	if err := lintSign(t, env, "lint.example.com"); err != nil {
		t.Fatalf("default lints: %v", err)
	}
	// The CA/Browser Forum's refuse it, naming the lints.
	env = at.New(t, at.Options{Lint: &authority.LintOptions{Enabled: true, Lints: []string{"CABF_BR"}}})
	wantErr(t, lintSign(t, env, "lint.example.com"), errs.Forbidden,
		"The request was forbidden by the certificate authority: certificate failed lint e_sub_cert_aia_missing, e_sub_cert_cert_policy_empty, e_sub_cert_certificate_policies_missing")
	// One lint by name; with OCSP on the AIA is there.
	aia := &authority.LintOptions{Enabled: true, Lints: []string{"e_sub_cert_aia_missing"}}
	env = at.New(t, at.Options{Lint: aia})
	wantErr(t, lintSign(t, env, "lint.example.com"), errs.Forbidden,
		"The request was forbidden by the certificate authority: certificate failed lint e_sub_cert_aia_missing")
	env = at.New(t, at.Options{Lint: aia, Store: at.OpenBadger(t), OCSP: &authority.OCSPOptions{URL: "https://ca.example.com/1.0/ocsp"}})
	if err := lintSign(t, env, "lint.example.com"); err != nil {
		t.Fatalf("AIA present: %v", err)
	}
	// Off by default.
	env = at.New(t, at.Options{Lint: &authority.LintOptions{Lints: []string{"CABF_BR"}}})
	if err := lintSign(t, env, "lint.example.com"); err != nil {
		t.Fatalf("lint not enabled: %v", err)
	}
}

// A provisioner's own lint applies to its certificates, on renew too.
func TestLintProvisioner(t *testing.T) {
	t.Parallel()
	env := at.New(t, at.Options{AdminExtra: map[string]any{"lint": map[string]any{"enabled": true, "lints": []string{"e_sub_cert_aia_missing"}}}})
	err := lintSign(t, env, "p.example.com")
	wantErr(t, err, errs.Forbidden, "The request was forbidden by the certificate authority: certificate failed lint e_sub_cert_aia_missing")
}

func TestLintUnknown(t *testing.T) {
	t.Parallel()
	env := at.New(t, at.Options{})
	_, err := authority.New(authority.Options{
		Roots: []*x509.Certificate{env.PKI.Root}, Intermediates: []*x509.Certificate{env.PKI.Intermediate},
		Signer: env.PKI.IntermediateKey, Store: env.Store, Registry: at.Registry(),
		Provisioners: []json.RawMessage{env.Admin.Entry(t, nil)},
		Lint:         &authority.LintOptions{Enabled: true, Lints: []string{"e_no_such_lint"}},
	})
	if err == nil || !strings.Contains(err.Error(), `authority.lint.lints: unknown lint or lint source "e_no_such_lint"`) {
		t.Fatalf("err = %v", err)
	}
}
