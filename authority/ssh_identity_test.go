package authority_test

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"net/url"
	"slices"
	"testing"

	gossh "golang.org/x/crypto/ssh"

	"github.com/mayfly-pki/mayfly/authority"
	"github.com/mayfly-pki/mayfly/authority/authoritytest"
	"github.com/mayfly-pki/mayfly/ssh"
)

// TestSignSSHAddUser: the "add user" certificate is step-ca's: a user
// certificate for "provisioner" (or ssh.addUserPrincipal) with the
// subject's validity and force-command running the add-user command for the
// subject's first principal; only beside a user certificate with one
// principal (or a second e-mail principal).
func TestSignSSHAddUser(t *testing.T) {
	e := sshEnv(t, nil)
	ctx := context.Background()
	res, err := e.Authority.SignSSH(ctx, &authority.SSHSignRequest{PublicKey: sshKey(t), OTT: sshToken(t, e, "alice@example.com", "user", "alice", "alice@example.com")})
	if err != nil {
		t.Fatal(err)
	}
	au, err := e.Authority.SignSSHAddUser(ctx, sshKey(t), res.Cert)
	if err != nil {
		t.Fatal(err)
	}
	if au.CertType != gossh.UserCert || au.KeyId != "alice-provisioner" || !slices.Equal(au.ValidPrincipals, []string{"provisioner"}) ||
		au.ValidAfter != res.Cert.ValidAfter || au.ValidBefore != res.Cert.ValidBefore || len(au.Extensions) != 0 ||
		au.CriticalOptions["force-command"] != "sudo useradd -m alice; nc -q0 localhost 22" || au.Serial == res.Cert.Serial {
		t.Fatalf("add user certificate: type %d key ID %q principals %v window %d-%d extensions %v options %v",
			au.CertType, au.KeyId, au.ValidPrincipals, au.ValidAfter, au.ValidBefore, au.Extensions, au.CriticalOptions)
	}
	root, _ := e.Authority.SSHRoots()
	checker := gossh.CertChecker{Clock: e.Clock.Now, SupportedCriticalOptions: []string{"force-command"}, IsUserAuthority: func(k gossh.PublicKey) bool { return string(k.Marshal()) == string(root.User[0].Marshal()) }}
	if err := checker.CheckCert("provisioner", au); err != nil {
		t.Fatalf("add user certificate does not verify against the user CA key: %v", err)
	}
	host, err := e.Authority.SignSSH(ctx, &authority.SSHSignRequest{PublicKey: sshKey(t), OTT: sshToken(t, e, "web1", "host", "web1.example.com")})
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]*gossh.Certificate{
		"host":          host.Cert,
		"no principal":  {CertType: gossh.UserCert},
		"two non-email": {CertType: gossh.UserCert, ValidPrincipals: []string{"a", "b"}},
		"three":         {CertType: gossh.UserCert, ValidPrincipals: []string{"a", "a@x", "b@x"}},
	} {
		if err := authority.IsValidForAddUser(c); err == nil {
			t.Errorf("%s: IsValidForAddUser accepted it", name)
		}
		if _, err := e.Authority.SignSSHAddUser(ctx, sshKey(t), c); err == nil {
			t.Errorf("%s: SignSSHAddUser signed it", name)
		}
	}
}

// TestSignSSHIdentity: the identity certificate of /ssh/sign's identityCSR
// is authorized with the SSH token again (already used, not refused), has
// the SSH certificate's validity and the CSR's urn:uuid URI.
func TestSignSSHIdentity(t *testing.T) {
	e := sshEnv(t, nil)
	ctx := context.Background()
	ott := sshToken(t, e, "alice@example.com", "user", "alice", "alice@example.com")
	res, err := e.Authority.SignSSH(ctx, &authority.SSHSignRequest{PublicKey: sshKey(t), OTT: ott})
	if err != nil {
		t.Fatal(err)
	}
	id, _ := url.Parse("urn:uuid:5f2b1c6e-7c1a-4b8e-9d1e-3f2a1b0c9d8e")
	key := authoritytest.NewKey(t)
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: "alice@example.com"}, EmailAddresses: []string{"alice@example.com"}, URIs: []*url.URL{id},
	}, key)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		t.Fatal(err)
	}
	iss, err := e.Authority.SignSSHIdentity(ctx, ott, csr, res.Cert)
	if err != nil {
		t.Fatalf("identity certificate: %v", err)
	}
	c := iss.Template
	if !c.NotBefore.Equal(ssh.Time(res.Cert.ValidAfter)) || !c.NotAfter.Equal(ssh.Time(res.Cert.ValidBefore)) {
		t.Fatalf("identity validity %s-%s, want the ssh certificate's %s-%s", c.NotBefore, c.NotAfter,
			ssh.Time(res.Cert.ValidAfter), ssh.Time(res.Cert.ValidBefore))
	}
	if len(c.URIs) != 1 || c.URIs[0].String() != id.String() {
		t.Fatalf("identity URIs %v, want %s", c.URIs, id)
	}
	// The token still cannot sign a second SSH certificate.
	if _, err := e.Authority.SignSSH(ctx, &authority.SSHSignRequest{PublicKey: sshKey(t), OTT: ott}); err == nil {
		t.Fatal("the token was accepted twice for an ssh certificate")
	}
}

// TestSignSSHTemplate: a provisioner's options.ssh template decides the key
// ID, principals, extensions and critical options, with templateData, the
// token's claims and the request's templateData (.Insecure.User).
func TestSignSSHTemplate(t *testing.T) {
	tmpl := `{
	"type": {{ toJson .Type }},
	"keyId": {{ toJson (printf "%s-%s" .Token.sub .Team) }},
	"principals": [{{ range .Principals }}{{ toJson . }}, {{ end }}{{ toJson .Insecure.User.extra }}],
	"extensions": {"permit-pty": ""},
	"criticalOptions": {"source-address": "10.0.0.0/8"}
}`
	e := authoritytest.New(t, authoritytest.Options{
		AdminExtra: map[string]any{"claims": map[string]any{"enableSSHCA": true},
			"options": map[string]any{"ssh": map[string]any{"template": tmpl, "templateData": map[string]any{"Team": "ops"}}}},
		Store: authoritytest.OpenBadger(t),
		SSH:   &authority.SSHConfig{UserKey: authoritytest.NewKey(t), HostKey: authoritytest.NewKey(t)},
	})
	res, err := e.Authority.SignSSH(context.Background(), &authority.SSHSignRequest{PublicKey: sshKey(t),
		OTT: sshToken(t, e, "alice@example.com", "user", "alice"), TemplateData: []byte(`{"extra":"deploy"}`)})
	if err != nil {
		t.Fatal(err)
	}
	c := res.Cert
	if c.CertType != gossh.UserCert || c.KeyId != "alice@example.com-ops" || !slices.Equal(c.ValidPrincipals, []string{"alice", "deploy"}) ||
		len(c.Extensions) != 1 || c.CriticalOptions["source-address"] != "10.0.0.0/8" {
		t.Fatalf("templated certificate: type %d key ID %q principals %v extensions %v options %v", c.CertType, c.KeyId, c.ValidPrincipals, c.Extensions, c.CriticalOptions)
	}
}
