package gcp_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/mayfly-pki/mayfly/authority"
	at "github.com/mayfly-pki/mayfly/authority/authoritytest"
	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/provisioner"
	"github.com/mayfly-pki/mayfly/provisioner/gcp"
	"github.com/mayfly-pki/mayfly/provisioner/gcp/gcptest"
	"github.com/mayfly-pki/mayfly/ssh"
)

// TestSSHHostCertificate: an instance gets a host certificate keyed by its
// name whose principals, with disableCustomSANs, are its internal DNS names.
func TestSSHHostCertificate(t *testing.T) {
	t.Parallel()
	g := gcptest.New(t)
	raw, _ := json.Marshal(map[string]any{"type": "GCP", "name": "gcp", "disableCustomSANs": true,
		"disableTrustOnFirstUse": true, "claims": map[string]any{"enableSSHCA": true}})
	e := at.New(t, at.Options{
		MoreProvisioners: []json.RawMessage{raw},
		Registry:         provisioner.Registry{provisioner.TypeGCP: gcp.NewWith(gcp.Endpoints{CertsURL: g.Certs.URL})},
		SSH:              &authority.SSHConfig{UserKey: at.NewKey(t), HostKey: at.NewKey(t)},
	})
	p, _ := e.Authority.Provisioners().ByName("gcp")
	prov := p.(*gcp.Provisioner)
	at.RunUntilReady(t, prov, "Google's keys")
	in := gcptest.DefaultInstance(e.Clock.Now())
	tok := g.Mint(t, gcptest.Payload(in, at.CAURL+"/1.0/ssh/sign#gcp/gcp", e.Clock.Now()))
	key, _ := gossh.NewPublicKey(&at.NewKey(t).PublicKey)
	res, err := e.Authority.SignSSH(context.Background(), &authority.SSHSignRequest{PublicKey: key, OTT: tok, Options: ssh.Options{CertType: "host"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{in.Name + ".c." + in.ProjectID + ".internal", in.Name + "." + in.Zone + ".c." + in.ProjectID + ".internal"}
	if c := res.Cert; c.CertType != gossh.HostCert || c.KeyId != in.Name || !slices.Equal(c.ValidPrincipals, want) {
		t.Fatalf("certificate: type %d key ID %q principals %v, want %v", c.CertType, c.KeyId, c.ValidPrincipals, want)
	}
	e.Clock.Add(time.Second)
	tok = g.Mint(t, gcptest.Payload(in, at.CAURL+"/1.0/ssh/sign#gcp/gcp", e.Clock.Now()))
	_, err = e.Authority.SignSSH(context.Background(), &authority.SSHSignRequest{PublicKey: key, OTT: tok, Options: ssh.Options{Principals: []string{"other.example.com"}}})
	if !errs.Is(err, errs.Forbidden) {
		t.Fatalf("a principal outside the instance's: %v", err)
	}
}
