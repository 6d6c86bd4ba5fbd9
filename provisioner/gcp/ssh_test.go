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

// TestSSHHostDisabled: disableSSHCAHost refuses the host certificate a
// valid instance token would get; false (or absent) does not.
func TestSSHHostDisabled(t *testing.T) {
	t.Parallel()
	g := gcptest.New(t)
	var raws []json.RawMessage
	for name, disabled := range map[string]bool{"off": true, "on": false} {
		raw, _ := json.Marshal(map[string]any{"type": "GCP", "name": name, "disableTrustOnFirstUse": true,
			"disableSSHCAHost": disabled, "disableSSHCAUser": true, "claims": map[string]any{"enableSSHCA": true}})
		raws = append(raws, raw)
	}
	e := at.New(t, at.Options{
		MoreProvisioners: raws,
		Registry:         provisioner.Registry{provisioner.TypeGCP: gcp.NewWith(gcp.Endpoints{CertsURL: g.Certs.URL})},
		SSH:              &authority.SSHConfig{UserKey: at.NewKey(t), HostKey: at.NewKey(t)},
	})
	for _, name := range []string{"off", "on"} {
		p, _ := e.Authority.Provisioners().ByName(name)
		prov := p.(*gcp.Provisioner)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); _ = prov.Run(ctx) }()
		t.Cleanup(func() { cancel(); <-done })
		select {
		case <-prov.Ready():
		case <-time.After(30 * time.Second):
			t.Fatal("Google's keys were not fetched within 30s")
		}
	}
	in := gcptest.DefaultInstance(e.Clock.Now())
	key, _ := gossh.NewPublicKey(&at.NewKey(t).PublicKey)
	sign := func(name string) error {
		tok := g.Mint(t, gcptest.Payload(in, at.CAURL+"/1.0/ssh/sign#gcp/"+name, e.Clock.Now()))
		_, err := e.Authority.SignSSH(context.Background(), &authority.SSHSignRequest{PublicKey: key, OTT: tok,
			Options: ssh.Options{CertType: "host", Principals: []string{"web.example.com"}}})
		return err
	}
	if err := sign("off"); !errs.Is(err, errs.Unauthorized) {
		t.Fatalf("disableSSHCAHost true: %v, want 401", err)
	}
	if err := sign("on"); err != nil {
		t.Fatalf("disableSSHCAHost false: %v", err)
	}
}
