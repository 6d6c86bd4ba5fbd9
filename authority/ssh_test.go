package authority_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/mayfly-pki/mayfly/authority"
	"github.com/mayfly-pki/mayfly/authority/authoritytest"
	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/provisioner"
	"github.com/mayfly-pki/mayfly/provisioner/sshpop"
	"github.com/mayfly-pki/mayfly/provisioner/token"
	"github.com/mayfly-pki/mayfly/ssh"
	"github.com/mayfly-pki/mayfly/ssh/krl"
)

var enableSSH = map[string]any{"claims": map[string]any{"enableSSHCA": true}}

// sshEnv is an authority with an SSH CA, an SSHPOP provisioner and a
// Badger store.
func sshEnv(t *testing.T, policy *authority.SSHPolicy) *authoritytest.Env {
	t.Helper()
	pop := []byte(`{"type":"SSHPOP","name":"sshpop","claims":{"enableSSHCA":true}}`)
	return authoritytest.New(t, authoritytest.Options{
		AdminExtra: enableSSH, Store: authoritytest.OpenBadger(t), MoreProvisioners: []json.RawMessage{pop},
		Registry: provisioner.Registry{provisioner.TypeSSHPOP: sshpop.New},
		SSH:      &authority.SSHConfig{UserKey: authoritytest.NewKey(t), HostKey: authoritytest.NewKey(t), Policy: policy},
	})
}

// sshToken is an admin SSH sign token with step.ssh.
func sshToken(t *testing.T, e *authoritytest.Env, sub, certType string, principals ...string) string {
	t.Helper()
	c := e.Admin.Claims(t, authoritytest.CAURL+"/1.0/ssh/sign", sub, e.Clock.Now())
	c.Step = &token.StepClaims{SSH: &token.SSHOptions{CertType: certType, KeyID: sub, Principals: principals}}
	return e.Admin.Sign(t, c)
}

func sshKey(t *testing.T) gossh.PublicKey {
	t.Helper()
	k, err := gossh.NewPublicKey(&authoritytest.NewKey(t).PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSignSSHUserAndHost(t *testing.T) {
	e := sshEnv(t, nil)
	ctx := context.Background()
	now := e.Clock.Now()
	res, err := e.Authority.SignSSH(ctx, &authority.SSHSignRequest{PublicKey: sshKey(t), OTT: sshToken(t, e, "alice@example.com", "user", "alice", "alice@example.com"),
		Options: ssh.Options{CertType: "user", Principals: []string{"alice"}}})
	if err != nil {
		t.Fatal(err)
	}
	c := res.Cert
	if c.CertType != gossh.UserCert || c.KeyId != "alice@example.com" || !slices.Equal(c.ValidPrincipals, []string{"alice", "alice@example.com"}) ||
		len(c.Extensions) != 5 || !ssh.Time(c.ValidAfter).Equal(now.Add(-time.Minute)) || !ssh.Time(c.ValidBefore).Equal(now.Add(16*time.Hour)) {
		t.Fatalf("user certificate: type %d key ID %q principals %v extensions %v window %s-%s", c.CertType, c.KeyId, c.ValidPrincipals, c.Extensions,
			ssh.Time(c.ValidAfter), ssh.Time(c.ValidBefore))
	}
	res, err = e.Authority.SignSSH(ctx, &authority.SSHSignRequest{PublicKey: sshKey(t), OTT: sshToken(t, e, "web1", "host", "web1.example.com")})
	if err != nil {
		t.Fatal(err)
	}
	if c := res.Cert; c.CertType != gossh.HostCert || len(c.Extensions) != 0 || !ssh.Time(c.ValidBefore).Equal(now.Add(30*24*time.Hour)) {
		t.Fatalf("host certificate: type %d extensions %v until %s", c.CertType, c.Extensions, ssh.Time(c.ValidBefore))
	}
	hosts, err := e.Authority.SSHHosts(ctx)
	if err != nil || !slices.Equal(hosts, []string{"web1.example.com"}) {
		t.Fatalf("SSHHosts = %v, %v", hosts, err)
	}
}

func TestSignSSHRefusals(t *testing.T) {
	ctx := context.Background()
	noSSH := authoritytest.New(t, authoritytest.Options{AdminExtra: enableSSH})
	if _, err := noSSH.Authority.SignSSH(ctx, &authority.SSHSignRequest{PublicKey: sshKey(t), OTT: "x"}); !errs.Is(err, errs.NotImplemented) {
		t.Fatalf("without an ssh block: %v, want NotImplemented", err)
	}
	disabled := authoritytest.New(t, authoritytest.Options{SSH: &authority.SSHConfig{UserKey: authoritytest.NewKey(t)}})
	_, err := disabled.Authority.SignSSH(ctx, &authority.SSHSignRequest{PublicKey: sshKey(t), OTT: sshToken(t, disabled, "alice", "user")})
	if !errs.Is(err, errs.Unauthorized) || !strings.Contains(err.Error(), "ssh ca is disabled for provisioner 'admin'") {
		t.Fatalf("enableSSHCA false: %v", err)
	}
	userOnly := authoritytest.New(t, authoritytest.Options{AdminExtra: enableSSH, SSH: &authority.SSHConfig{UserKey: authoritytest.NewKey(t)}})
	_, err = userOnly.Authority.SignSSH(ctx, &authority.SSHSignRequest{PublicKey: sshKey(t), OTT: sshToken(t, userOnly, "web1", "host")})
	if !errs.Is(err, errs.NotImplemented) || !strings.Contains(err.Error(), "ssh.hostKey") {
		t.Fatalf("host certificate without a host key: %v", err)
	}
}

// TestSSHPolicy: authority.policy.ssh is enforced on every SSH certificate.
func TestSSHPolicy(t *testing.T) {
	e := sshEnv(t, &authority.SSHPolicy{
		User: &authority.SSHPolicyRules{Allow: &authority.SSHNames{Principals: []string{"alice"}, Emails: []string{"@example.com"}}},
		Host: &authority.SSHPolicyRules{Deny: &authority.SSHNames{DNSDomains: []string{"*.internal"}}},
	})
	ctx := context.Background()
	sign := func(certType string, principals ...string) error {
		_, err := e.Authority.SignSSH(ctx, &authority.SSHSignRequest{PublicKey: sshKey(t), OTT: sshToken(t, e, principals[0], certType, principals...)})
		return err
	}
	if err := sign("user", "alice", "alice@example.com"); err != nil {
		t.Fatalf("allowed principals: %v", err)
	}
	for _, tc := range []struct {
		certType   string
		principals []string
		want       string
	}{
		{"user", []string{"root"}, `principal name "root" not allowed`},
		{"user", []string{"alice", "alice@evil.com"}, `email name "alice@evil.com" not allowed`},
		{"host", []string{"db.internal"}, `dns name "db.internal" not allowed`},
	} {
		err := sign(tc.certType, tc.principals...)
		if !errs.Is(err, errs.Forbidden) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %v: %v, want Forbidden %q", tc.certType, tc.principals, err, tc.want)
		}
	}
	if err := sign("host", "web.example.com", "10.0.0.1"); err != nil {
		t.Fatalf("host outside the deny rule: %v", err)
	}
}

// TestSSHRevokeKRLAndSSHPOP: a revocation enters the KRL at once, an
// SSHPOP token of a revoked or expired certificate is refused, and an
// expired revoked certificate leaves the KRL.
func TestSSHRevokeKRLAndSSHPOP(t *testing.T) {
	e := sshEnv(t, nil)
	ctx := context.Background()
	hostKey := authoritytest.NewKey(t)
	pub, _ := gossh.NewPublicKey(&hostKey.PublicKey)
	tok := sshToken(t, e, "web1", "host", "web1.example.com")
	res, err := e.Authority.SignSSH(ctx, &authority.SSHSignRequest{PublicKey: pub, OTT: tok,
		Options: ssh.Options{}})
	if err != nil {
		t.Fatal(err)
	}
	cert := res.Cert
	serial := fmt.Sprint(cert.Serial)
	popToken := func(path string) string {
		jwk, err := mjoseSigner(hostKey)
		if err != nil {
			t.Fatal(err)
		}
		c := e.Admin.Claims(t, authoritytest.CAURL+path+"#sshpop/sshpop", serial, e.Clock.Now())
		c.Issuer = "sshpop"
		s, err := token.Sign(jwk, c, map[string]any{"sshpop": base64.StdEncoding.EncodeToString(cert.Marshal())})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	renewed, err := e.Authority.RenewSSH(ctx, popToken("/1.0/ssh/renew"))
	if err != nil {
		t.Fatalf("RenewSSH: %v", err)
	}
	if renewed.Cert.Serial == cert.Serial || renewed.Cert.ValidBefore-renewed.Cert.ValidAfter != cert.ValidBefore-cert.ValidAfter {
		t.Fatalf("renewed certificate: serial %d, life %d", renewed.Cert.Serial, renewed.Cert.ValidBefore-renewed.Cert.ValidAfter)
	}

	l0, err := e.Authority.KRL(ctx)
	if err != nil || l0.Count != 0 {
		t.Fatalf("empty KRL: %+v %v", l0, err)
	}
	revokeTok := e.Admin.Sign(t, e.Admin.Claims(t, authoritytest.CAURL+"/1.0/ssh/revoke", serial, e.Clock.Now()))
	if _, err := e.Authority.RevokeSSH(ctx, &authority.SSHRevokeRequest{Serial: serial, OTT: revokeTok}); err != nil {
		t.Fatalf("RevokeSSH: %v", err)
	}
	l1, err := e.Authority.KRL(ctx)
	if err != nil || l1.Count != 1 || l1.ETag == l0.ETag {
		t.Fatalf("KRL after a revocation: %+v %v", l1, err)
	}
	parsed, err := krl.Parse(l1.Body)
	if err != nil || len(parsed.Certs) != 2 || !slices.Contains(parsed.Certs[1].Serials, cert.Serial) {
		t.Fatalf("KRL body: %+v %v", parsed, err)
	}
	if _, err := e.Authority.RenewSSH(ctx, popToken("/1.0/ssh/renew")); !errs.Is(err, errs.Unauthorized) || !strings.Contains(err.Error(), "has been revoked") {
		t.Fatalf("SSHPOP with a revoked certificate: %v", err)
	}
	// 30 days later the certificate has expired: SSHPOP refuses it, and
	// the KRL no longer lists it.
	e.Clock.Add(31 * 24 * time.Hour)
	if _, err := e.Authority.RenewSSH(ctx, popToken("/1.0/ssh/renew")); !errs.Is(err, errs.Unauthorized) {
		t.Fatalf("SSHPOP with an expired certificate: %v", err)
	}
	l2, err := e.Authority.KRL(ctx)
	if err != nil || l2.Count != 0 {
		t.Fatalf("KRL after the expiry: %+v %v", l2, err)
	}
}
