package aws_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/mayfly-pki/mayfly/authority"
	at "github.com/mayfly-pki/mayfly/authority/authoritytest"
	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/provisioner"
	"github.com/mayfly-pki/mayfly/provisioner/aws"
	"github.com/mayfly-pki/mayfly/provisioner/aws/awstest"
	"github.com/mayfly-pki/mayfly/ssh"
)

// TestSSHHostCertificate: an instance gets a host certificate keyed by its
// instance ID; with disableCustomSANs only its private IP and DNS name; a
// user certificate is refused.
func TestSSHHostCertificate(t *testing.T) {
	t.Parallel()
	a := awstest.New(t)
	raw, _ := json.Marshal(map[string]any{"type": "AWS", "name": "aws", "iidRoots": a.CertFile,
		"disableCustomSANs": true, "disableTrustOnFirstUse": true, "claims": map[string]any{"enableSSHCA": true}})
	e := at.New(t, at.Options{
		MoreProvisioners: []json.RawMessage{raw}, Registry: provisioner.Registry{provisioner.TypeAWS: aws.New},
		SSH: &authority.SSHConfig{UserKey: at.NewKey(t), HostKey: at.NewKey(t)},
	})
	doc := awstest.DefaultDocument(e.Clock.Now())
	tok := func() string {
		e.Clock.Add(time.Second) // a token per request: its payload differs
		b, sig := a.Sign(t, doc)
		return awstest.Token(t, awstest.Claims(doc.InstanceID, at.CAURL+"/1.0/ssh/sign#aws/aws", e.Clock.Now()), b, sig)
	}
	key, _ := gossh.NewPublicKey(&at.NewKey(t).PublicKey)
	ctx := context.Background()
	res, err := e.Authority.SignSSH(ctx, &authority.SSHSignRequest{PublicKey: key, OTT: tok(), Options: ssh.Options{CertType: "host"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{doc.PrivateIP, aws.DNSName(&doc)}
	if c := res.Cert; c.CertType != gossh.HostCert || c.KeyId != doc.InstanceID || !slices.Equal(c.ValidPrincipals, want) {
		t.Fatalf("certificate: type %d key ID %q principals %v, want host %q %v", c.CertType, c.KeyId, c.ValidPrincipals, doc.InstanceID, want)
	}
	_, err = e.Authority.SignSSH(ctx, &authority.SSHSignRequest{PublicKey: key, OTT: tok(), Options: ssh.Options{Principals: []string{"evil.example.com"}}})
	if !errs.Is(err, errs.Forbidden) || !strings.Contains(err.Error(), "principals does not match") {
		t.Fatalf("a principal outside the instance's: %v", err)
	}
	_, err = e.Authority.SignSSH(ctx, &authority.SSHSignRequest{PublicKey: key, OTT: tok(), Options: ssh.Options{CertType: "user"}})
	if !errs.Is(err, errs.Forbidden) || !strings.Contains(err.Error(), "type does not match") {
		t.Fatalf("a user certificate: %v", err)
	}
}
