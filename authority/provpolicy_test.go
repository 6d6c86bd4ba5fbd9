package authority_test

import (
	"strings"
	"testing"

	"github.com/mayfly-pki/mayfly/authority"
	at "github.com/mayfly-pki/mayfly/authority/authoritytest"
	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/policy"
	"github.com/sirupsen/logrus/hooks/test"
)

// A provisioner's own policy applies after the authority's, on sign and
// renew, and the log names the provisioner's policy.
func TestProvisionerPolicy(t *testing.T) {
	t.Parallel()
	logger, hook := test.NewNullLogger()
	env := at.New(t, at.Options{
		Logger:     logger,
		X509Policy: &policy.X509Options{Allow: &policy.Names{DNSDomains: []string{"*.example.com", "*.example.org"}}},
		AdminExtra: map[string]any{"policy": map[string]any{
			"x509": map[string]any{"allow": map[string]any{"dns": []string{"*.example.com"}}, "deny": map[string]any{"dns": []string{"no.example.com"}}},
			"ssh":  map[string]any{"user": map[string]any{"allow": map[string]any{"email": []string{"@example.com"}}}},
		}},
	})
	sign := func(name string) error {
		csr := at.NewCSR(t, at.CSR{CommonName: name, DNSNames: []string{name}})
		_, err := env.Authority.Sign(ctx, &authority.SignRequest{CSR: csr, OTT: env.SignToken(t, name, name)})
		return err
	}
	if err := sign("ok.example.com"); err != nil {
		t.Fatalf("allowed by both: %v", err)
	}
	// Allowed by the authority, not by the provisioner.
	wantErr(t, sign("a.example.org"), errs.Forbidden,
		`The request was forbidden by the certificate authority: dns name "a.example.org" not allowed`)
	wantErr(t, sign("no.example.com"), errs.Forbidden,
		`The request was forbidden by the certificate authority: dns name "no.example.com" not allowed`)
	// Refused by the authority first.
	wantErr(t, sign("a.example.net"), errs.Forbidden,
		`The request was forbidden by the certificate authority: dns name "a.example.net" not allowed`)
	var prov, auth bool
	for _, e := range hook.AllEntries() {
		switch {
		case e.Data["name"] == "no.example.com" && strings.HasPrefix(e.Data["policy"].(string), "provisioner ") && e.Data["rule"] == "denied by rule dns:no.example.com":
			prov = true
		case e.Data["name"] == "a.example.net" && e.Data["policy"] == "authority.policy.x509":
			auth = true
		}
	}
	if !prov || !auth {
		t.Fatalf("log does not name the policy (provisioner %v, authority %v): %v", prov, auth, hook.AllEntries())
	}
}

// A provisioner whose policy does not compile is disabled with the reason;
// the CA keeps the others.
func TestProvisionerPolicyBadRule(t *testing.T) {
	t.Parallel()
	logger, hook := test.NewNullLogger()
	env := at.New(t, at.Options{Logger: logger, AdminExtra: map[string]any{"policy": map[string]any{
		"x509": map[string]any{"allow": map[string]any{"ip": []string{"10.0.0.0/40"}}},
	}}})
	csr := at.NewCSR(t, at.CSR{CommonName: "x.example.com"})
	_, err := env.Authority.Sign(ctx, &authority.SignRequest{CSR: csr, OTT: env.SignToken(t, "x.example.com")})
	if err == nil {
		t.Fatal("a provisioner with a broken policy signed")
	}
	var found bool
	for _, e := range hook.AllEntries() {
		if strings.Contains(e.Message, "policy.x509.allow.ip[0]") {
			found = true
		}
	}
	if !found {
		t.Fatalf("the reason does not name the rule: %v", hook.AllEntries())
	}
}

// A provisioner's SSH policy applies after the authority's to the SSH
// certificates it issues, with the same 403 message; the log names the
// provisioner's policy. A bad SSH rule disables the provisioner, naming
// the rule.
func TestProvisionerSSHPolicy(t *testing.T) {
	t.Parallel()
	logger, hook := test.NewNullLogger()
	e := at.New(t, at.Options{
		Logger: logger,
		AdminExtra: map[string]any{"claims": map[string]any{"enableSSHCA": true}, "policy": map[string]any{
			"ssh": map[string]any{
				"user": map[string]any{"allow": map[string]any{"principal": []string{"alice"}, "email": []string{"@example.com"}}},
				"host": map[string]any{"deny": map[string]any{"dns": []string{"*.internal"}}},
			},
		}},
		SSH: &authority.SSHConfig{UserKey: at.NewKey(t), HostKey: at.NewKey(t),
			Policy: &authority.SSHPolicy{Host: &authority.SSHPolicyRules{Deny: &authority.SSHNames{DNSDomains: []string{"*.authority-denied.com"}}}}},
	})
	sign := func(certType string, principals ...string) error {
		_, err := e.Authority.SignSSH(ctx, &authority.SSHSignRequest{PublicKey: sshKey(t), OTT: sshToken(t, e, principals[0], certType, principals...)})
		return err
	}
	if err := sign("user", "alice", "alice@example.com"); err != nil {
		t.Fatalf("allowed by the provisioner: %v", err)
	}
	if err := sign("host", "web.example.com"); err != nil {
		t.Fatalf("host allowed by both: %v", err)
	}
	wantErr(t, sign("user", "root"), errs.Forbidden, `The request was forbidden by the certificate authority: principal name "root" not allowed`)
	wantErr(t, sign("host", "db.internal"), errs.Forbidden, `The request was forbidden by the certificate authority: dns name "db.internal" not allowed`)
	wantErr(t, sign("host", "x.authority-denied.com"), errs.Forbidden, `The request was forbidden by the certificate authority: dns name "x.authority-denied.com" not allowed`)
	var prov, auth bool
	for _, l := range hook.AllEntries() {
		switch {
		case l.Data["name"] == "db.internal" && l.Data["policy"] == `provisioner "admin" policy.ssh.host`:
			prov = true
		case l.Data["name"] == "x.authority-denied.com" && l.Data["policy"] == "authority.policy.ssh.host":
			auth = true
		}
	}
	if !prov || !auth {
		t.Fatalf("log does not name the policy (provisioner %v, authority %v): %v", prov, auth, hook.AllEntries())
	}

	if err := authority.ValidateProvisionerPolicy([]byte(`{"ssh":{"host":{"allow":{"ip":["10.0.0.0/40"]}}}}`)); err == nil ||
		!strings.Contains(err.Error(), "policy.ssh.host") || !strings.Contains(err.Error(), "10.0.0.0/40") {
		t.Fatalf("bad SSH rule: %v", err)
	}
	if err := authority.ValidateProvisionerPolicy([]byte(`{"x509":{"allow":{"dns":["*.*.example.com"]}}}`)); err == nil ||
		!strings.Contains(err.Error(), "policy.x509.allow.dns[0]") || !strings.Contains(err.Error(), "*.*.example.com") {
		t.Fatalf("bad X.509 rule: %v", err)
	}
	if err := authority.ValidateProvisionerPolicy([]byte(`{"x509":{"allow":{"dns":["*.example.com"]}},"ssh":{"user":{"allow":{"principal":["a"]}}}}`)); err != nil {
		t.Fatalf("good policy: %v", err)
	}
}
